// VMs with a managed OS disk. Goal: a VM holds its OS disk attached from creation to delete (one
// writer: Azure's 409 OperationNotAllowed for a second VM, a delete or an export of an attached disk;
// managedBy and diskState Attached; deallocation releases it and start takes it again), and on a
// qemu host what the guest writes to /dev/vda lands in the disk's page object: incremental snapshots
// capture it, their diff is exactly the guest's writes, and a memory-preserving update keeps both
// the guest's RAM and its disk intact while the guest goes on writing.
// Method: (1) a test server with its default `process` hosts, through @azure/arm-compute (the
// process driver records the disk and says it cannot attach it); (2) a server with one qemu host and
// the system clock: the guest's nimbus-disk agent (scripts/build-guest-image.sh) writes counter
// blocks at known offsets; the test reads them back from snapshots through grant-access SAS URLs.
// (2) is skipped only where QEMU cannot run or the guest image cannot be built, with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { startTestServer } from './helpers/server.js';
import { diskClients, pageClient } from './helpers/disks.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { armRequest } from './helpers/arm.js';
import { startNimbus } from '../src/main.js';
import { DEFAULT_CONFIG, type NimbusConfig } from '../src/platform/config.js';
import { createLogger } from '../src/platform/log.js';
import { SystemClock, delay, monotonicMs } from '../src/platform/clock.js';
import { qemuAvailable } from '../src/compute/hypervisor/qemu/driver.js';
import { GUEST_DISK_LAYOUT, ensureGuestImage } from '../src/compute/hypervisor/qemu/guest-image.js';
import { waitForLine } from '../src/compute/hypervisor/qemu/serial-log.js';
import { resourceKey, type OsDiskView } from '../src/compute/service/model.js';

const GROUP = 'vm-disks';
const LOCATION = 'westus';

interface InstanceViewBody {
  statuses?: Array<{ code?: string }>;
  nimbus?: { osDisk: OsDiskView | null };
}

const qemuIo = spawnSync('qemu-io', ['--version'], { encoding: 'utf8' });

/** qemu-io (async: the NBD server runs in this process); its exit code and output. */
function qemuIoRun(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('qemu-io', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', (error) => resolve({ status: -1, output: String(error) }));
    child.on('close', (status) => resolve({ status, output }));
  });
}

test('an OS disk is attached to its VM from create to delete: one writer, delete 409, managedBy; deallocate releases it', { timeout: 40_000 }, async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const c = diskClients(srv);
  await c.resources.resourceGroups.createOrUpdate(GROUP, { location: LOCATION });
  const disk = await c.compute.disks.createOrUpdate(GROUP, 'os-1', { location: LOCATION, creationData: { createOption: 'Empty' }, diskSizeGB: 1 });
  assert.ok(disk.id);
  const create = (name: string, diskId: string) => c.compute.virtualMachines.beginCreateOrUpdateAndWait(GROUP, name, {
    location: LOCATION, hardwareProfile: { vmSize: 'Standard_B1ls' },
    storageProfile: { osDisk: { createOption: 'Attach', osType: 'Linux', managedDisk: { id: diskId } } },
  });

  // A missing disk: 404, and no VM is left behind.
  await expectAzureError(create('vm-x', disk.id.replace(/os-1$/, 'nope')), 404, 'ResourceNotFound');
  await expectAzureError(c.compute.virtualMachines.get(GROUP, 'vm-x'), 404, 'ResourceNotFound');

  // Attached: diskState, managedBy, and the instance view says the process driver cannot attach it.
  const vm = await create('vm-1', disk.id);
  const attached = await c.compute.disks.get(GROUP, 'os-1');
  assert.equal(attached.diskState, 'Attached');
  assert.equal(attached.managedBy?.toLowerCase(), vm.id?.toLowerCase());
  // (raw: the SDK drops the Nimbus-only `nimbus` object)
  const viewPath = `/subscriptions/${c.subscriptionId}/resourceGroups/${GROUP}/providers/Microsoft.Compute/virtualMachines/vm-1/instanceView?api-version=2024-03-01`;
  const view = (await armRequest(srv, 'GET', viewPath, { token: srv.nimbus.armDevToken })).body as unknown as InstanceViewBody;
  assert.deepEqual(view.nimbus?.osDisk, { id: disk.id, attached: true, hypervisor: 'not-supported', nbdUrl: null });

  // One writer: a second VM, an NBD writer, an export and a delete are refused; readers are not.
  await expectAzureError(create('vm-2', disk.id), 409, 'OperationNotAllowed');
  await expectAzureError(c.compute.virtualMachines.get(GROUP, 'vm-2'), 404, 'ResourceNotFound');
  await expectAzureError(c.compute.disks.delete(GROUP, 'os-1'), 409, 'OperationNotAllowed');
  await expectAzureError(c.compute.disks.grantAccess(GROUP, 'os-1', { access: 'Read', durationInSeconds: 60 }), 409, 'OperationNotAllowed');
  const record = srv.nimbus.disks.getDisk(c.subscriptionId, GROUP, 'os-1');
  assert.equal(srv.nimbus.disks.tryAttach(record, 'test', srv.clock.nowMs()), false, 'no second writer');
  if (qemuIo.status === 0) {
    const url = `nbd+unix:///${disk.id.slice(1)}?socket=${srv.nimbus.nbdSocketPath}`;
    const write = await qemuIoRun(['-f', 'raw', '-c', 'write -P 0x11 0 4k', url]);
    assert.equal(write.status, 1, `qemu-io must not get the attached disk for writing: ${write.output}`);
    assert.match(write.output, /policy|refus|denied|busy/i);
    const read = await qemuIoRun(['-r', '-f', 'raw', '-c', 'read 0 4k', url.replace(':///', ':///ro/')]);
    assert.equal(read.status, 0, `a reader is fine: ${read.output}`);
  } else {
    t.diagnostic('qemu-io not installed: the NBD refusal is checked through the disk service only');
  }

  // Deallocate releases the disk (a writer could take it); start takes it again.
  await c.compute.virtualMachines.beginDeallocateAndWait(GROUP, 'vm-1');
  const released = await c.compute.disks.get(GROUP, 'os-1');
  assert.equal(released.diskState, 'Unattached');
  assert.equal(released.managedBy, undefined);
  await c.compute.virtualMachines.beginStartAndWait(GROUP, 'vm-1');
  assert.equal((await c.compute.disks.get(GROUP, 'os-1')).diskState, 'Attached');
  // A repeated PUT may not swap the OS disk.
  const other = await c.compute.disks.createOrUpdate(GROUP, 'os-2', { location: LOCATION, creationData: { createOption: 'Empty' }, diskSizeGB: 1 });
  await expectAzureError(create('vm-1', other.id ?? ''), 409, 'OperationNotAllowed');
  assert.equal((await c.compute.disks.get(GROUP, 'os-2')).diskState, 'Unattached');

  // Delete the VM: the disk is free again (and deletable).
  await c.compute.virtualMachines.beginDeleteAndWait(GROUP, 'vm-1');
  assert.equal((await c.compute.disks.get(GROUP, 'os-1')).diskState, 'Unattached');
  const reused = await create('vm-3', disk.id);
  assert.ok(reused.id);
  await c.compute.virtualMachines.beginDeleteAndWait(GROUP, 'vm-3');
  await c.compute.disks.delete(GROUP, 'os-1');
});

// ---- qemu: the guest's writes through NBD ----

const probe = qemuAvailable();
const skip = probe.ok ? false : `QEMU cannot run here (${probe.reason}); install qemu-system-x86 (see .ci/run)`;
const { blockBytes, markerOffset, recordsOffset, records } = GUEST_DISK_LAYOUT;

interface GuestBlock {
  n: number;
  vm: string;
}

function parseBlock(bytes: Buffer, kind: 'nimbus-disk' | 'nimbus-rec'): GuestBlock | null {
  const match = new RegExp(`^${kind} n=(\\d+) vm=(\\S+) *\\n$`).exec(bytes.toString('latin1'));
  return match?.[1] && match[2] ? { n: Number(match[1]), vm: match[2] } : null;
}

test('a qemu guest writes its OS disk over NBD: snapshots capture it, the diff is its writes, and a memory-preserving update keeps RAM and disk', { skip, timeout: 150_000 }, async (t) => {
  const image = await ensureGuestImage().catch((error: unknown) => error as Error);
  if (image instanceof Error) {
    t.skip(`guest image cannot be built here: ${image.message}`);
    return;
  }
  const started = monotonicMs();
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-vmdisk-'));
  const config: NimbusConfig = {
    ...DEFAULT_CONFIG, blobPort: 0, blobHttpsPort: 0, armPort: 0, imdsPort: 0, nbdPort: 0, durability: 'process', dataDir,
    compute: { hosts: [{ name: 'kvm-0', driver: 'qemu', memoryMiB: 1024, rack: 0 }], tickIntervalMs: 200 },
  };
  const nimbus = await startNimbus(config, { clock: new SystemClock(), logger: createLogger('warn') });
  t.after(async () => {
    await nimbus.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const c = diskClients(nimbus);
  const compute: ComputeManagementClient = c.compute;
  await c.resources.resourceGroups.createOrUpdate(GROUP, { location: LOCATION });
  const disk = await compute.disks.createOrUpdate(GROUP, 'guest-os', { location: LOCATION, creationData: { createOption: 'Empty' }, diskSizeGB: 1 });
  assert.ok(disk.id);

  // The VM through the compute service, with the disk's id (ARM does the same from storageProfile).
  const ref = { subscriptionId: c.subscriptionId, resourceGroup: GROUP, name: 'disk-vm' };
  const { service, maintenance } = nimbus.compute;
  await service.createVm({ ...ref, location: LOCATION, vmSize: 'Standard_B1ls', memoryMiB: 128, osDiskId: disk.id });
  const osDisk = service.instanceView(ref).nimbus.osDisk;
  assert.equal(osDisk?.hypervisor, 'nbd');
  assert.match(osDisk?.nbdUrl ?? '', /^nbd\+unix:\/\/\/vm-attached\/[0-9a-f-]+\?socket=/);
  assert.equal((await compute.disks.get(GROUP, 'guest-os')).diskState, 'Attached');
  const consolePath = service.runtimeOf(resourceKey(ref))?.handle.logs.consolePath ?? assert.fail('running');
  await waitForLine(consolePath, /nimbus: disk ready dev=\/dev\/vda start=0/, 90_000);
  t.diagnostic(`guest booted with its disk in ${((monotonicMs() - started) / 1000).toFixed(1)} s`);

  // Reading what the guest wrote: an incremental snapshot, read through its SAS.
  let snapshots = 0;
  const snapshot = async () => {
    const name = `s${++snapshots}`;
    const s = await compute.snapshots.createOrUpdate(GROUP, name, { location: LOCATION, creationData: { createOption: 'Copy', sourceResourceId: disk.id }, incremental: true });
    const { accessSAS } = await compute.snapshots.grantAccess(GROUP, name, { access: 'Read', durationInSeconds: 3600 });
    const blob = pageClient(accessSAS);
    const read = async (offset: number) => blob.downloadToBuffer(offset, blockBytes);
    const marker = parseBlock(await read(markerOffset), 'nimbus-disk') ?? assert.fail(`${name}: no marker block`);
    assert.equal(marker.vm, 'disk-vm');
    return { name, s, blob, sas: accessSAS ?? '', marker, read };
  };
  /** Records from..to all present in the snapshot, each naming its own n. */
  const assertRecords = async (snap: Awaited<ReturnType<typeof snapshot>>, from: number, to: number) => {
    for (let n = Math.max(1, from, to - records + 1); n <= to; n++) {
      const record = parseBlock(await snap.read(GUEST_DISK_LAYOUT.recordOffset(n)), 'nimbus-rec');
      assert.equal(record?.n, n, `${snap.name}: record ${n} intact`);
    }
  };

  await delay(2000);
  const s1 = await snapshot();
  await delay(2000);
  const s2 = await snapshot();
  assert.ok(s2.marker.n >= s1.marker.n + 2, `the guest keeps writing (${s1.marker.n} -> ${s2.marker.n})`);
  await assertRecords(s2, 1, s2.marker.n);

  // The diff s1 -> s2 is the guest's writes: the marker block and the records written in between.
  const diff = await s2.blob.getPageRangesDiffForManagedDisks(0, 0, s1.sas);
  // The SDK reports a wire range Start-End (End inclusive) as { offset: Start, count: End - Start }.
  const pages = new Set<number>();
  for (const r of diff.pageRange ?? []) for (let at = r.offset; at <= r.offset + (r.count ?? 0); at += blockBytes) pages.add(at);
  assert.ok(pages.has(markerOffset), 'the marker block changed');
  for (let n = s1.marker.n + 2; n <= s2.marker.n; n++) assert.ok(pages.has(GUEST_DISK_LAYOUT.recordOffset(n)), `record ${n} is in the diff`);
  for (const at of pages) {
    const inRecords = at >= recordsOffset && at < recordsOffset + records * blockBytes;
    assert.ok(at === markerOffset || inRecords, `only the guest's blocks changed, not ${at}`);
  }
  assert.equal(diff.clearRange?.length ?? 0, 0);
  assert.ok((s2.s.diskSizeBytes ?? 0) > 0);
  t.diagnostic(`diff s1 (n=${s1.marker.n}) -> s2 (n=${s2.marker.n}): ${pages.size} blocks of 4 KiB`);

  // A memory-preserving update (the guest approves it over IMDS): RAM kept, the disk still attached.
  const campaign = maintenance.startCampaign({ kind: 'memory-preserving', noticeMs: 10_000, startedGraceMs: 300 });
  const deadline = monotonicMs() + 60_000;
  while (maintenance.campaign(campaign.id).state === 'running' && monotonicMs() < deadline) await delay(200);
  const done = maintenance.campaign(campaign.id);
  const updated = done.vms[0] ?? assert.fail('one VM');
  t.diagnostic(`update: ${updated.outcome} ${updated.mode}, pause ${updated.pauseMs?.toFixed(1)} ms, memory ${JSON.stringify(updated.memory)}`);
  assert.equal(done.state, 'completed', JSON.stringify(done.vms));
  assert.equal(updated.outcome, 'updated');
  assert.equal(updated.pauseKind, 'vm-blackout');
  assert.notEqual(updated.pidAfter, updated.pidBefore, 'a new QEMU hosts the guest');
  assert.ok(updated.memory.kind === 'guest-region' && updated.memory.preserved, 'the RAM region survived');
  assert.equal(service.instanceView(ref).nimbus.generation, 1);

  // The disk: everything written before the update is intact, and the guest goes on writing through
  // the new QEMU (same boot: one "disk ready" line on the console, the counter continues).
  const s3 = await snapshot();
  assert.ok(s3.marker.n >= s2.marker.n, `counter continues (${s2.marker.n} -> ${s3.marker.n})`);
  await assertRecords(s3, 1, s3.marker.n);
  await delay(2000);
  const s4 = await snapshot();
  assert.ok(s4.marker.n >= s3.marker.n + 2, `the guest writes after the update (${s3.marker.n} -> ${s4.marker.n})`);
  await assertRecords(s4, 1, s4.marker.n);
  const afterDiff = await s4.blob.getPageRangesDiffForManagedDisks(0, 0, s3.sas);
  assert.ok((afterDiff.pageRange ?? []).some((r) => r.offset <= markerOffset && r.offset + (r.count ?? 0) >= markerOffset + blockBytes - 1), 'post-update writes reach the page engine');
  const console = readFileSync(consolePath, 'utf8');
  assert.equal(console.match(/nimbus: disk ready/g)?.length, 1, 'the guest did not reboot');
  assert.doesNotMatch(console, /nimbus: disk write failed/);

  // Deleting the VM detaches the disk; its snapshots stay readable.
  await service.deleteVm(ref);
  assert.equal((await compute.disks.get(GROUP, 'guest-os')).diskState, 'Unattached');
  t.diagnostic(`total ${((monotonicMs() - started) / 1000).toFixed(1)} s`);
});
