// Managed disks and snapshots through the official SDKs (src/disks/service, src/arm/resources/disks.ts,
// snapshots.ts). Goal: @azure/arm-compute works against Nimbus unchanged (endpoint, scope, CA), a disk's
// bytes are reachable through grant-access SAS URLs with @azure/storage-blob, and incremental snapshots
// behave as Azure's: O(1), stored size = what changed, diffable by SAS URL within one disk only,
// restorable byte for byte. Method: a real Nimbus per test; disk contents change between snapshots the
// way a VM changes them (page writes to the disk's page object, here in-process; NBD in nbd tests).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { armRequest } from './helpers/arm.js';
import { diskBlobRef, startDiskServer, download, pageClient, patternBytes, uploadDisk, type DiskClients } from './helpers/disks.js';
import type { Disk } from '@azure/arm-compute';

const MIB = 1024 * 1024;
/** The wire's Start/End (End inclusive): the JS SDK reports { offset: Start, count: End - Start }. */
const wire = (r: { offset: number; count?: number }): [number, number] => [r.offset, r.offset + (r.count ?? 0)];
const GROUP = 'disks-rg';

const setup = (t: TestContext): Promise<TestServer & DiskClients> => startDiskServer(t, GROUP);

/** What a VM does to its disk: page writes and trims on the disk's page blob. */
async function writeDisk(srv: TestServer, disk: Disk, at: number, bytes: Buffer): Promise<void> {
  const range = { start: at, end: at + bytes.length };
  await srv.nimbus.api.putPages(diskBlobRef(disk, 'eastus'), range, { stream: Readable.from([bytes]), lengthBytes: bytes.length }, { conditions: {} }, srv.clock.nowMs());
}

async function trimDisk(srv: TestServer, disk: Disk, start: number, end: number): Promise<void> {
  await srv.nimbus.api.clearPages(diskBlobRef(disk, 'eastus'), { start, end }, { conditions: {} }, srv.clock.nowMs());
}

async function nimbusProperties(srv: TestServer, id: string | undefined): Promise<Record<string, unknown>> {
  assert.ok(id);
  const res = await armRequest(srv, 'GET', `${id}?api-version=2024-03-02`, { token: srv.nimbus.armDevToken });
  assert.equal(res.status, 200);
  return res.body.properties as Record<string, unknown>;
}

test('disks: create Empty, get, list, grow (never shrink), delete; regions and SKUs recorded', async (t) => {
  const c = await setup(t);
  const created = await c.compute.disks.createOrUpdate(GROUP, 'Data1', {
    location: 'eastus', sku: { name: 'Premium_ZRS' }, zones: ['1'], creationData: { createOption: 'Empty' }, diskSizeGB: 1, tags: { app: 'db' },
  });
  assert.equal(created.provisioningState, 'Succeeded');
  assert.equal(created.diskState, 'Unattached');
  assert.equal(created.diskSizeGB, 1);
  assert.equal(created.diskSizeBytes, 1024 ** 3);
  assert.deepEqual(created.sku, { name: 'Premium_ZRS', tier: 'Premium' });
  assert.deepEqual(created.zones, ['1']);
  assert.equal(created.id, `/subscriptions/${c.subscriptionId}/resourceGroups/${GROUP}/providers/Microsoft.Compute/disks/Data1`);
  assert.match(created.uniqueId ?? '', /^[0-9a-f-]{36}$/);

  // 1. Names compare case-insensitively; lists by group and subscription.
  assert.equal((await c.compute.disks.get(GROUP, 'data1')).uniqueId, created.uniqueId);
  await c.compute.disks.createOrUpdate(GROUP, 'data2', { location: 'westus', creationData: { createOption: 'Empty' }, diskSizeGB: 2 });
  const inGroup = [];
  for await (const d of c.compute.disks.listByResourceGroup(GROUP)) inGroup.push(d.name);
  assert.deepEqual(inGroup, ['Data1', 'data2']);
  const inSub = [];
  for await (const d of c.compute.disks.list()) inSub.push(`${d.name}@${d.location}:${d.sku?.name}`);
  assert.deepEqual(inSub, ['Data1@eastus:Premium_ZRS', 'data2@westus:Standard_LRS']);

  // 2. ZRS needs a region with zones; unknown regions are refused.
  await expectAzureError(c.compute.disks.createOrUpdate(GROUP, 'zrs', { location: 'westus', sku: { name: 'StandardSSD_ZRS' }, creationData: { createOption: 'Empty' }, diskSizeGB: 1 }), 400, 'InvalidParameter');
  await expectAzureError(c.compute.disks.createOrUpdate(GROUP, 'far', { location: 'mars', creationData: { createOption: 'Empty' }, diskSizeGB: 1 }), 400, 'LocationNotAvailableForResourceType');

  // 3. Resize grows only.
  const grown = await c.compute.disks.update(GROUP, 'Data1', { diskSizeGB: 4 });
  assert.equal(grown.diskSizeGB, 4);
  await expectAzureError(c.compute.disks.update(GROUP, 'Data1', { diskSizeGB: 2 }), 400, 'InvalidParameter');
  assert.equal((await c.compute.disks.update(GROUP, 'Data1', { tags: { app: 'web' } })).tags?.app, 'web');

  // 4. Delete; a second delete is a no-op (204), a get is 404.
  await c.compute.disks.delete(GROUP, 'Data1');
  await c.compute.disks.delete(GROUP, 'Data1');
  await expectAzureError(c.compute.disks.get(GROUP, 'Data1'), 404, 'ResourceNotFound');
});

test('disks: direct upload through a Write SAS, then export with a Read SAS; revoking makes each SAS fail', async (t) => {
  const c = await setup(t);
  const image = Buffer.concat([patternBytes(3 * MIB, 7), Buffer.alloc(2 * MIB), patternBytes(MIB + 512, 8)]);
  const created = await c.compute.disks.createOrUpdate(GROUP, 'up', {
    location: 'eastus', creationData: { createOption: 'Upload', uploadSizeBytes: image.length },
  });
  assert.equal(created.diskState, 'ReadyToUpload');
  await expectAzureError(c.compute.disks.grantAccess(GROUP, 'up', { access: 'Read', durationInSeconds: 60 }), 409, 'OperationNotAllowed');

  const { accessSAS: writeSas } = await c.compute.disks.grantAccess(GROUP, 'up', { access: 'Write', durationInSeconds: 3600 });
  assert.match(writeSas ?? '', /\/md-eastus\/d-[0-9a-f-]+\/disk\?sv=.*&si=/);
  assert.equal((await c.compute.disks.get(GROUP, 'up')).diskState, 'ActiveUpload');
  const writer = pageClient(writeSas);
  await writer.uploadPages(image.subarray(0, 3 * MIB), 0, 3 * MIB);
  await writer.uploadPages(image.subarray(5 * MIB), 5 * MIB, MIB + 512);
  await c.compute.disks.revokeAccess(GROUP, 'up');
  assert.equal((await c.compute.disks.get(GROUP, 'up')).diskState, 'Unattached');
  await expectAzureError(writer.uploadPages(image.subarray(0, 512), 0, 512), 403);

  // Export: the download is the whole image, byte for byte; revoke → 403.
  const { accessSAS } = await c.compute.disks.grantAccess(GROUP, 'up', { access: 'Read', durationInSeconds: 3600 });
  assert.equal((await c.compute.disks.get(GROUP, 'up')).diskState, 'ActiveSAS');
  assert.ok((await download(accessSAS)).equals(image));
  await expectAzureError(pageClient(accessSAS).uploadPages(image.subarray(0, 512), 0, 512), 403);
  await c.compute.disks.revokeAccess(GROUP, 'up');
  await expectAzureError(download(accessSAS), 403);

  // An expired SAS fails too (the clock moves, nothing sleeps).
  const { accessSAS: shortSas } = await c.compute.disks.grantAccess(GROUP, 'up', { access: 'Read', durationInSeconds: 60 });
  c.clock.advance(61_000);
  await expectAzureError(download(shortSas), 403);
  assert.equal((await c.compute.disks.get(GROUP, 'up')).diskState, 'Unattached');
});

test('incremental snapshots: stored size is what changed, diffs by SAS URL give exactly the changed and cleared ranges, restore byte for byte', async (t) => {
  const c = await setup(t);
  const base = Buffer.concat([patternBytes(2 * MIB, 1), Buffer.alloc(6 * MIB)]);
  const disk = await uploadDisk(c, GROUP, 'os', 'eastus', base);
  const diskId = disk.id ?? '';
  const snap = (name: string, incremental = true) =>
    c.compute.snapshots.createOrUpdate(GROUP, name, { location: 'eastus', creationData: { createOption: 'Copy', sourceResourceId: diskId }, incremental });

  const s1 = await snap('s1');
  assert.equal(s1.incremental, true);
  assert.deepEqual(s1.sku?.name, 'Standard_ZRS', 'eastus has zones: ZRS by default');
  assert.equal(s1.creationData?.sourceUniqueId, disk.uniqueId);
  assert.ok(s1.incrementalSnapshotFamilyId);
  assert.equal((await nimbusProperties(c, s1.id)).nimbusStoredBytes, 2 * MIB, 'the first snapshot holds the whole written disk');

  // Between s1 and s2: write 64 KiB at 4 MiB, rewrite 4 KiB at 0 with the same bytes, trim [1 MiB, 1.5 MiB).
  await writeDisk(c, disk, 4 * MIB, patternBytes(64 * 1024, 2));
  await writeDisk(c, disk, 0, base.subarray(0, 4096));
  await trimDisk(c, disk, MIB, MIB + 512 * 1024);
  const s2 = await snap('s2');
  assert.equal(s2.incrementalSnapshotFamilyId, s1.incrementalSnapshotFamilyId);
  assert.equal((await nimbusProperties(c, s2.id)).nimbusStoredBytes, 64 * 1024 + 4096);
  const s3 = await snap('s3', true);
  assert.equal((await nimbusProperties(c, s3.id)).nimbusStoredBytes, 0, 'no change, no bytes');

  const sas1 = (await c.compute.snapshots.grantAccess(GROUP, 's1', { access: 'Read', durationInSeconds: 3600 })).accessSAS;
  const sas2 = (await c.compute.snapshots.grantAccess(GROUP, 's2', { access: 'Read', durationInSeconds: 3600 })).accessSAS;
  assert.match(sas1 ?? '', /\?snapshot=[^&]+&sv=.*&sr=bs&si=/);
  const diff = await pageClient(sas2).getPageRangesDiffForManagedDisks(0, 0, sas1 ?? '');
  assert.deepEqual(diff.pageRange?.map(wire), [[0, 4095], [4 * MIB, 4 * MIB + 64 * 1024 - 1]]);
  assert.deepEqual(diff.clearRange?.map(wire), [[MIB, MIB + 512 * 1024 - 1]]);

  // Restore a disk from s1 and read it back; a full snapshot from s2 reads as s2.
  const restored = await c.compute.disks.createOrUpdate(GROUP, 'restored', { location: 'eastus', creationData: { createOption: 'Copy', sourceResourceId: s1.id } });
  assert.equal(restored.diskSizeBytes, base.length);
  const restoredSas = (await c.compute.disks.grantAccess(GROUP, 'restored', { access: 'Read', durationInSeconds: 600 })).accessSAS;
  assert.ok((await download(restoredSas)).equals(base), 'restored disk = the disk at s1');
  const full = await c.compute.snapshots.createOrUpdate(GROUP, 'full2', {
    location: 'eastus', sku: { name: 'Premium_LRS' }, creationData: { createOption: 'Copy', sourceResourceId: s2.id }, incremental: false,
  });
  assert.equal(full.incremental, false);
  assert.equal(full.sku?.name, 'Premium_LRS');
  const expected2 = Buffer.from(base);
  patternBytes(64 * 1024, 2).copy(expected2, 4 * MIB);
  expected2.fill(0, MIB, MIB + 512 * 1024);
  const fullSas = (await c.compute.snapshots.grantAccess(GROUP, 'full2', { access: 'Read', durationInSeconds: 600 })).accessSAS;
  assert.ok((await download(fullSas)).equals(expected2), 'full snapshot from s2 = the disk at s2');
  assert.ok((await download(sas2)).equals(expected2));

  // Deleting the disk keeps its snapshots whole, and deleting s2 keeps s1 → s3 diffable.
  await c.compute.disks.delete(GROUP, 'os');
  assert.ok((await download(sas1)).equals(base));
  await c.compute.snapshots.delete(GROUP, 's2');
  assert.equal((await nimbusProperties(c, s3.id)).nimbusStoredBytes, 64 * 1024 + 4096, 's3 now holds what s2 held');
  const sas3 = (await c.compute.snapshots.grantAccess(GROUP, 's3', { access: 'Read', durationInSeconds: 600 })).accessSAS;
  const diff13 = await pageClient(sas3).getPageRangesDiffForManagedDisks(0, 0, sas1 ?? '');
  assert.equal(diff13.pageRange?.length, 2);
  assert.equal(diff13.clearRange?.length, 1);
});

test('incremental snapshots of different disks cannot be diffed (409), and an older snapshot cannot be the newer side', async (t) => {
  const c = await setup(t);
  const a = await uploadDisk(c, GROUP, 'a', 'eastus', patternBytes(MIB, 3));
  const b = await uploadDisk(c, GROUP, 'b', 'eastus', patternBytes(MIB, 3));
  const snap = async (name: string, disk: Disk) => {
    await c.compute.snapshots.createOrUpdate(GROUP, name, { location: 'eastus', creationData: { createOption: 'Copy', sourceResourceId: disk.id }, incremental: true });
    return (await c.compute.snapshots.grantAccess(GROUP, name, { access: 'Read', durationInSeconds: 600 })).accessSAS ?? '';
  };
  const a1 = await snap('a1', a);
  const b1 = await snap('b1', b);
  await writeDisk(c, a, 0, patternBytes(512, 9));
  const a2 = await snap('a2', a);
  await expectAzureError(pageClient(a2).getPageRangesDiffForManagedDisks(0, 0, b1), 409, 'PreviousSnapshotNotFound');
  await expectAzureError(pageClient(a1).getPageRangesDiffForManagedDisks(0, 0, a2), 400, 'PreviousSnapshotCannotBeNewer');
  const ok = await pageClient(a2).getPageRangesDiffForManagedDisks(0, 0, a1);
  assert.deepEqual(ok.pageRange?.map(wire), [[0, 511]]);

  // An incremental snapshot in a region without zones defaults to LRS; an explicit SKU wins.
  const w = await uploadDisk(c, GROUP, 'w', 'westus', patternBytes(512, 4));
  const w1 = await c.compute.snapshots.createOrUpdate(GROUP, 'w1', { location: 'westus', creationData: { createOption: 'Copy', sourceResourceId: w.id }, incremental: true });
  assert.equal(w1.sku?.name, 'Standard_LRS');
  const w2 = await c.compute.snapshots.createOrUpdate(GROUP, 'w2', { location: 'westus', sku: { name: 'Standard_ZRS' }, creationData: { createOption: 'Copy', sourceResourceId: w.id }, incremental: true });
  assert.equal(w2.sku?.name, 'Standard_ZRS');
  const w3 = await c.compute.snapshots.createOrUpdate(GROUP, 'w3', { location: 'westus', creationData: { createOption: 'Copy', sourceResourceId: w.id }, incremental: true });
  assert.equal(w3.sku?.name, 'Standard_ZRS', 'omitted: the previous snapshot of the family decides');
  const listed = [];
  for await (const s of c.compute.snapshots.listByResourceGroup(GROUP)) listed.push(s.name);
  assert.deepEqual(listed, ['a1', 'a2', 'b1', 'w1', 'w2', 'w3']);
});
