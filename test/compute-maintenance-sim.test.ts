// Seeded simulation of the maintenance orchestrator. Goal: the availability-set guarantee (a
// set's update domains are walked in order, never two at once), Azure's event rules (nothing
// starts before an approval or NotBefore; a guest that never approves is started at NotBefore),
// the failure policy (a host failing mid-update halts that set's walk, quarantines the host, and
// the campaign ends 'failed' with the failure recorded), and the overlap policy (refused).
// Method: process-backed instances on three hosts, a manual clock moved in random steps, guests
// approving (or not) at random times through the same store call the IMDS POST makes.
// Replay: NIMBUS_SIM_SEED=<seed> node --import tsx --test test/compute-maintenance-sim.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { RG, SUB, processHosts, startCompute } from './helpers/compute.js';
import type { CampaignView } from '../src/compute/maintenance/campaign.js';
import type { HostWorkContext } from '../src/compute/maintenance/update-vm.js';
import { ComputeError } from '../src/compute/errors.js';
import { minutes, seconds } from '../src/platform/clock.js';

const SEED = Number(process.env['NIMBUS_SIM_SEED'] ?? randomInt(2 ** 31));

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per lane, in log order: a domain is published only when none is open, with a higher UD than the last. */
function assertWalk(campaign: CampaignView): void {
  const open = new Map<string, number>();
  const last = new Map<string, number>();
  for (const entry of campaign.log) {
    if (entry.what === 'scheduled') {
      assert.equal(open.has(entry.scope), false, `${entry.scope}: UD${entry.updateDomain} published while UD${open.get(entry.scope)} open (seed ${SEED})`);
      assert.ok(entry.updateDomain > (last.get(entry.scope) ?? -1), `${entry.scope}: UDs in order (seed ${SEED})`);
      open.set(entry.scope, entry.updateDomain);
      last.set(entry.scope, entry.updateDomain);
    } else if (entry.what === 'finished' || entry.what === 'failed' || entry.what === 'cancelled') {
      assert.equal(open.get(entry.scope), entry.updateDomain);
      open.delete(entry.scope);
    }
  }
}

test(`maintenance simulation (seed ${SEED})`, { timeout: 120_000 }, async (t) => {
  t.diagnostic(`seed ${SEED}; replay with NIMBUS_SIM_SEED=${SEED}`);
  const random = mulberry32(SEED);
  let failHost: string | null = null;
  const active = new Map<string, Set<number>>(); // set -> UDs inside host work right now
  const hostWork = async (ctx: HostWorkContext): Promise<void> => {
    const key = ctx.availabilitySet ?? ctx.vm;
    const uds = active.get(key) ?? new Set<number>();
    uds.add(ctx.updateDomain);
    active.set(key, uds);
    assert.equal(uds.size, 1, `two update domains of ${key} under host work at once (seed ${SEED})`);
    await new Promise((resolve) => setImmediate(resolve));
    uds.delete(ctx.updateDomain);
    if (ctx.host === failHost) throw new Error(`simulated host failure on ${ctx.host}`);
  };
  const h = await startCompute({ hosts: processHosts(3), hostWork });
  const { service, maintenance, events } = h.compute;
  try {
    // Two sets over several update domains, plus a VM in no set (its own domain).
    await service.createAvailabilitySet({ subscriptionId: SUB, resourceGroup: RG, name: 'web', location: 'local', platformUpdateDomainCount: 3, platformFaultDomainCount: 2 });
    await service.createAvailabilitySet({ subscriptionId: SUB, resourceGroup: RG, name: 'db', location: 'local', platformUpdateDomainCount: 2, platformFaultDomainCount: 3 });
    const plan: Array<[string, string | null]> = [
      ...Array.from({ length: 5 }, (_, i): [string, string] => [`web-${i}`, 'web']),
      ...Array.from({ length: 4 }, (_, i): [string, string] => [`db-${i}`, 'db']),
      ['solo', null],
    ];
    for (const [name, set] of plan) {
      await service.createVm({ subscriptionId: SUB, resourceGroup: RG, name, location: 'local', vmSize: 'Standard_B1ls', memoryMiB: 16, availabilitySet: set });
    }
    const vms = service.listVms(SUB, RG);
    assert.deepEqual(vms.filter((v) => v.availabilitySet === 'web').map((v) => v.platformUpdateDomain).sort(), [0, 0, 1, 1, 2], 'round-robin UDs');
    for (const set of ['web', 'db']) {
      const hosts = new Set(vms.filter((v) => v.availabilitySet === set).map((v) => v.host));
      assert.ok(hosts.size >= 2, `${set} spread over hosts`);
    }

    // Guests: some approve after a random delay, the rest never do.
    const approveAfterMs = new Map(vms.map((vm) => [vm.name, random() < 0.5 ? Math.floor(random() * minutes(20)) : null]));
    t.diagnostic(`approvers: ${[...approveAfterMs].map(([n, d]) => `${n}=${d === null ? 'never' : `${Math.round(d / 1000)}s`}`).join(' ')}`);

    const drive = async (campaignId: string): Promise<CampaignView> => {
      for (let i = 0; i < 5000; i++) {
        const campaign = maintenance.campaign(campaignId);
        if (campaign.state !== 'running') return campaign;
        for (const lane of campaign.lanes) {
          const open = lane.domains.filter((d) => d.phase === 'scheduled' || d.phase === 'started' || d.phase === 'updating');
          assert.ok(open.length <= 1, `one open domain per lane (seed ${SEED})`);
          for (const domain of open) {
            if (domain.phase !== 'scheduled' || domain.eventId === null || domain.publishedMs === null) continue;
            for (const name of domain.vms) {
              const delayMs = approveAfterMs.get(name);
              if (delayMs === null || delayMs === undefined || h.clock.nowMs() < domain.publishedMs + delayMs) continue;
              const vm = vms.find((v) => v.name === name) ?? assert.fail(name);
              events.approve(service.eventScopeOf(vm), name, [domain.eventId], h.clock.nowMs());
            }
          }
        }
        await h.compute.runDue();
        h.clock.advance(seconds(10 + Math.floor(random() * 80)));
      }
      assert.fail(`campaign did not finish (seed ${SEED})`);
    };

    // 1. A memory-preserving campaign with Azure's default notice; an overlapping one is refused.
    const first = maintenance.startCampaign({ kind: 'memory-preserving' });
    assert.throws(() => maintenance.startCampaign({ kind: 'reboot' }), (e: unknown) => e instanceof ComputeError && e.code === 'MaintenanceInProgress');
    const done = await drive(first.id);
    assertWalk(done);
    assert.equal(done.state, 'completed', JSON.stringify(done.vms.filter((r) => r.outcome !== 'updated')));
    assert.equal(done.summary.updated, 10);
    for (const lane of done.lanes) {
      for (const domain of lane.domains) {
        assert.equal(domain.notBeforeMs !== null && domain.publishedMs !== null && domain.notBeforeMs - domain.publishedMs, minutes(15));
        const approval = domain.approval ?? assert.fail('every domain started somehow');
        if (approval.by === 'NotBefore') {
          assert.ok((domain.startedMs ?? 0) >= (domain.notBeforeMs ?? Infinity), 'an unapproved domain waits for NotBefore');
          assert.ok(domain.vms.every((n) => approveAfterMs.get(n) === null || (domain.publishedMs ?? 0) + (approveAfterMs.get(n) ?? 0) > (domain.startedMs ?? 0) - 90_000));
        } else {
          assert.ok(approval.vmNames.every((n) => domain.vms.includes(n)), 'only named VMs approve');
        }
      }
    }
    const autoStarted = done.lanes.flatMap((l) => l.domains).filter((d) => d.approval?.by === 'NotBefore').length;
    t.diagnostic(`campaign 1: ${done.summary.updated} updated, ${autoStarted} domains started at NotBefore, pause p50 ${done.summary.pauseMs.p50?.toFixed(2)} ms (process freeze)`);
    for (const record of done.vms) {
      assert.equal(record.pauseKind, 'process-freeze', 'never called a VM blackout');
      assert.equal(record.memory.kind === 'process-resident' && record.memory.preserved, true, `${record.vm} stayed resident and kept counting`);
      assert.equal(record.clock?.kind, 'not-applicable');
      assert.deepEqual(record.timeline.map((e) => e.what).filter((w) => w.startsWith('event')).slice(0, 1), ['event-scheduled']);
    }

    // 2. A host fails mid-update: its set stops walking, the host is quarantined, the campaign fails.
    failHost = `host-${Math.floor(random() * 3)}`;
    const second = await drive(maintenance.startCampaign({ kind: 'memory-preserving', noticeMs: minutes(5) }).id);
    assertWalk(second);
    t.diagnostic(`campaign 2 (failing ${failHost}): ${second.summary.updated} updated, ${second.summary.failed} failed, ${second.summary.skipped} skipped`);
    assert.equal(second.state, 'failed');
    assert.deepEqual(second.failedHosts, [failHost]);
    const failed = second.vms.filter((r) => r.outcome === 'failed');
    assert.ok(failed.length >= 1 && failed.every((r) => r.host === failHost && r.error !== null));
    for (const lane of second.lanes) {
      const failedAt = lane.domains.findIndex((d) => d.phase === 'failed');
      if (failedAt < 0) {
        assert.equal(lane.state, 'done');
        continue;
      }
      assert.equal(lane.state, 'halted');
      for (const later of lane.domains.slice(failedAt + 1)) assert.equal(later.phase, 'pending', `${lane.scope}: no domain after the failure is published`);
    }
    for (const record of second.vms.filter((r) => r.host === failHost && r.outcome !== 'failed')) assert.equal(record.outcome, 'skipped');
    for (const record of failed) {
      const vm = service.getVm({ subscriptionId: SUB, resourceGroup: RG, name: record.vm });
      assert.equal(vm.powerState, 'running', 'a failed update costs a pause, never the VM');
      const pid = service.instanceView(vm).nimbus.pid ?? assert.fail('pid');
      assert.doesNotThrow(() => process.kill(pid, 0), 'the workload is alive and thawed');
    }
    for (const vm of vms) assert.deepEqual(events.document(service.eventScopeOf(vm)).events, [], 'no event is left behind');

    // 3. A reboot campaign on one host: Reboot events, new processes, memory lost by design.
    failHost = null;
    const solo = service.getVm({ subscriptionId: SUB, resourceGroup: RG, name: 'solo' });
    const third = await drive(maintenance.startCampaign({ kind: 'reboot', hosts: [solo.host ?? ''], noticeMs: minutes(15), domainRecoveryMs: minutes(30) }).id);
    assertWalk(third);
    assert.equal(third.state, 'completed');
    for (const record of third.vms) {
      assert.equal(record.mode, 'reboot');
      assert.notEqual(record.pidAfter, record.pidBefore);
      assert.deepEqual(record.memory, { kind: 'lost-by-design', reason: 'reboot' });
      assert.equal(record.host, solo.host);
    }
    const rebootSets = third.lanes.filter((l) => l.domains.length > 1);
    for (const lane of rebootSets) {
      for (let i = 1; i < lane.domains.length; i++) {
        assert.ok((lane.domains[i]?.publishedMs ?? 0) >= (lane.domains[i - 1]?.finishedMs ?? Infinity) + minutes(30), '30 min recovery between reboot domains');
      }
    }
  } finally {
    await h.close();
  }
});
