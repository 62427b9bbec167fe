// End to end with real guests: two availability sets over two update domains each, four QEMU
// (TCG) guests of 128 MiB on two hosts. Goal: guests learn of the maintenance from inside through
// 169.254.169.254 (the guest agent polls Scheduled Events and POSTs StartRequests), each domain
// starts on that approval long before NotBefore, the domains of a set are walked in order and never
// together, and every guest survives its in-place update with its RAM region byte-identical, its
// heartbeat continuing, and its clock within 5 ms after the resync.
// Guests with an OS disk (NBD) through the same kind of update, disk checked before and after from
// incremental snapshots: test/compute-disk.test.ts.
// Skipped only where QEMU cannot run (or the guest image cannot be built), with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { RG, SUB, startCompute } from './helpers/compute.js';
import { qemuAvailable } from '../src/compute/hypervisor/qemu/driver.js';
import { ensureGuestImage } from '../src/compute/hypervisor/qemu/guest-image.js';
import { waitForLine } from '../src/compute/hypervisor/qemu/serial-log.js';
import { resourceKey } from '../src/compute/service/model.js';
import { SystemClock, delay, minutes, monotonicMs } from '../src/platform/clock.js';

const probe = qemuAvailable();
const skip = probe.ok ? false : `QEMU cannot run here (${probe.reason}); install qemu-system-x86 (see .ci/run)`;

test('e2e: Freeze events reach real guests, which approve; domains walk in order; memory and clock survive', { skip, timeout: 170_000 }, async (t) => {
  const image = await ensureGuestImage().catch((error: unknown) => error as Error);
  if (image instanceof Error) {
    t.skip(`guest image cannot be built here: ${image.message}`);
    return;
  }
  const started = monotonicMs();
  const h = await startCompute({
    clock: new SystemClock(), tickIntervalMs: 200, guestMemoryRegionMiB: 16,
    hosts: [
      { name: 'host-0', driver: 'qemu', memoryMiB: 1024, rack: 0 },
      { name: 'host-1', driver: 'qemu', memoryMiB: 1024, rack: 1 },
    ],
  });
  const { service, maintenance } = h.compute;
  try {
    for (const set of ['set-a', 'set-b']) {
      await service.createAvailabilitySet({ subscriptionId: SUB, resourceGroup: RG, name: set, location: 'local', platformUpdateDomainCount: 2, platformFaultDomainCount: 2 });
    }
    const names = ['a0', 'a1', 'b0', 'b1'];
    await Promise.all(names.map((name) => service.createVm({
      subscriptionId: SUB, resourceGroup: RG, name, location: 'local', vmSize: 'Standard_B1ls', memoryMiB: 128, availabilitySet: `set-${name[0]}`,
    })));
    const consoleOf = (name: string) => service.runtimeOf(resourceKey({ subscriptionId: SUB, resourceGroup: RG, name }))?.handle.logs.consolePath ?? assert.fail(name);
    await Promise.all(names.map((name) => waitForLine(consoleOf(name), /nimbus: ready/, 90_000)));
    for (const name of names) {
      const vm = service.getVm({ subscriptionId: SUB, resourceGroup: RG, name });
      t.diagnostic(`${name}: ${vm.availabilitySet} UD${vm.platformUpdateDomain} FD${vm.platformFaultDomain} on ${vm.host}`);
    }
    t.diagnostic(`4 guests booted in ${((monotonicMs() - started) / 1000).toFixed(1)} s`);

    // Notice 10 min: only the guests' own approvals can start the domains within this test.
    const campaign = maintenance.startCampaign({ kind: 'memory-preserving', noticeMs: minutes(10), startedGraceMs: 1500 });
    const deadline = monotonicMs() + 100_000;
    while (maintenance.campaign(campaign.id).state === 'running' && monotonicMs() < deadline) await delay(250);
    const done = maintenance.campaign(campaign.id);
    t.diagnostic(`campaign ${done.state} in ${((done.finishedMs ?? 0) - done.createdMs) / 1000} s`);
    for (const r of done.vms) {
      t.diagnostic(`${r.vm} UD${r.updateDomain} ${r.outcome} ${r.mode} pause ${r.pauseMs?.toFixed(1)} ms; clock ${r.clock?.kind === 'synced' ? `${r.clock.beforeMs.toFixed(1)} -> ${r.clock.afterMs.toFixed(2)} ms` : r.clock?.kind}; memory ${JSON.stringify(r.memory)}`);
    }
    assert.equal(done.state, 'completed', JSON.stringify(done.vms.filter((r) => r.outcome !== 'updated')));
    assert.equal(done.summary.updated, 4);

    // Domains walked in order, one at a time per set, each started by a guest's approval.
    for (const lane of done.lanes) {
      assert.deepEqual(lane.domains.map((d) => d.updateDomain), [0, 1]);
      const [ud0, ud1] = lane.domains;
      assert.ok(ud0 && ud1 && (ud1.publishedMs ?? 0) >= (ud0.finishedMs ?? Infinity), `${lane.availabilitySet}: UD1 published after UD0 finished`);
      for (const domain of lane.domains) {
        assert.equal(domain.approval?.by, 'StartRequests', `${lane.availabilitySet} UD${domain.updateDomain} approved from inside the guest`);
        assert.ok((domain.startedMs ?? Infinity) < (domain.notBeforeMs ?? 0));
        const guest = domain.vms[0] ?? assert.fail('a VM');
        assert.match(await readFile(consoleOf(guest), 'utf8'), new RegExp(`nimbus: approved event=${domain.eventId}`));
      }
    }
    for (const record of done.vms) {
      assert.equal(record.pauseKind, 'vm-blackout');
      assert.equal(record.memory.kind, 'guest-region');
      assert.equal(record.memory.kind === 'guest-region' && record.memory.preserved, true, `${record.vm}: RAM region and heartbeat survived`);
      assert.ok(record.clock?.kind === 'synced' && Math.abs(record.clock.afterMs) <= 5, `${record.vm}: clock error after sync <= 5 ms`);
      assert.notEqual(record.pidAfter, record.pidBefore, 'a new QEMU process hosts the guest');
    }
    t.diagnostic(`pause p50 ${done.summary.pauseMs.p50?.toFixed(1)} / max ${done.summary.pauseMs.max?.toFixed(1)} ms; |clock| after sync max ${done.summary.clockAfterSyncAbsMs.max?.toFixed(2)} ms; total ${((monotonicMs() - started) / 1000).toFixed(1)} s`);
  } finally {
    await h.close();
  }
});
