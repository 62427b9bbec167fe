// Incremental Copy Blob through the SDK's PageBlobClient.startCopyIncremental: the first copy of a
// page blob snapshot brings its full content, later copies of newer snapshots only the pages that
// changed in between, each copy leaves a destination snapshot, and the destination refuses writes.
// https://learn.microsoft.com/rest/api/storageservices/incremental-copy-blob
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnonymousCredential, BlobSASPermissions, generateBlobSASQueryParameters, PageBlobClient, type ContainerClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError, patternBytes } from './helpers/azure-assert.js';

const KIB = 1024;
const SIZE = 256 * KIB;
const fill = (value: number, bytes: number) => Buffer.alloc(bytes, value);
/** The SDK reports a range as { offset, count } with count = End - Start (End inclusive): to [start, end). */
const spans = (list: Array<{ offset: number; count?: number }> | undefined) => (list ?? []).map((r) => [r.offset, r.offset + (r.count ?? 0) + 1]);

interface Setup {
  srv: TestServer;
  source: PageBlobClient;
  dest: PageBlobClient;
  backups: ContainerClient;
  /** The URL of a snapshot of `blob`, as Incremental Copy Blob takes it. */
  snapshotUrl(blob: PageBlobClient, snapshot: string): string;
}

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<Setup> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const disks = srv.serviceClient.getContainerClient('disks');
  const backups = srv.serviceClient.getContainerClient('backups');
  await disks.create();
  await backups.create();
  const source = disks.getPageBlobClient('disk.vhd');
  await source.create(SIZE);
  return {
    srv, source, backups, dest: backups.getPageBlobClient('disk-backup.vhd'),
    snapshotUrl: (blob, snapshot) => `${blob.url}?snapshot=${encodeURIComponent(snapshot)}`,
  };
}

/** Takes a snapshot one second later than anything before it. */
async function snapshotOf(srv: TestServer, blob: PageBlobClient): Promise<string> {
  srv.clock.advance(1000);
  const snapshot = (await blob.createSnapshot()).snapshot;
  assert.ok(snapshot);
  return snapshot;
}

async function copyIncremental(srv: TestServer, dest: PageBlobClient, url: string): Promise<{ copyId: string; destinationSnapshot: string }> {
  srv.clock.advance(1000);
  const started = await dest.startCopyIncremental(url);
  assert.equal(started._response.status, 202);
  assert.equal(started.copyStatus, 'success');
  assert.ok(started.copyId);
  const props = await dest.getProperties();
  assert.ok(props.destinationSnapshot);
  return { copyId: started.copyId, destinationSnapshot: props.destinationSnapshot };
}

/** Byte for byte and range for range, the destination snapshot is the source snapshot. */
async function assertSameSnapshot(source: PageBlobClient, sourceSnapshot: string, dest: PageBlobClient, destSnapshot: string): Promise<void> {
  const from = source.withSnapshot(sourceSnapshot);
  const to = dest.withSnapshot(destSnapshot);
  const [fromBytes, toBytes] = await Promise.all([from.downloadToBuffer(), to.downloadToBuffer()]);
  assert.equal(toBytes.length, fromBytes.length);
  assert.ok(toBytes.equals(fromBytes), 'destination snapshot bytes differ from the source snapshot');
  const [fromRanges, toRanges] = await Promise.all([from.getPageRanges(), to.getPageRanges()]);
  assert.deepEqual(spans(toRanges.pageRange), spans(fromRanges.pageRange));
}

test('first copy: the destination is an incremental-copy page blob with the full snapshot and a destination snapshot', async (t) => {
  // Goal: copy of the first snapshot = full content; Get Blob Properties shows the incremental-copy and copy headers.
  const { srv, source, dest, snapshotUrl } = await setup(t);
  await source.uploadPages(patternBytes(64 * KIB, 1), 0, 64 * KIB);
  await source.uploadPages(fill(7, 4 * KIB), 200 * KIB, 4 * KIB);
  await source.setMetadata({ disk: 'os' });
  const s1 = await snapshotOf(srv, source);
  await source.uploadPages(fill(9, 4 * KIB), 0, 4 * KIB); // after the snapshot: must not be copied

  const url = snapshotUrl(source, s1);
  const { copyId, destinationSnapshot: d1 } = await copyIncremental(srv, dest, url);
  await assertSameSnapshot(source, s1, dest, d1);
  // The destination blob itself holds the copied snapshot too, and reads normally.
  const current = await dest.downloadToBuffer();
  assert.ok(current.equals(await source.withSnapshot(s1).downloadToBuffer()));
  assert.deepEqual(spans((await dest.getPageRanges()).pageRange), [[0, 64 * KIB], [200 * KIB, 204 * KIB]]);

  const props = await dest.getProperties();
  assert.equal(props.blobType, 'PageBlob');
  assert.equal(props.isIncrementalCopy, true);
  assert.equal(props.destinationSnapshot, d1);
  assert.equal(props.copyId, copyId);
  assert.equal(props.copyStatus, 'success');
  assert.equal(props.copySource, url);
  assert.equal(props.copyProgress, `${SIZE}/${SIZE}`);
  assert.ok(props.copyCompletedOn);
  assert.equal(props.contentLength, SIZE);
  assert.deepEqual(props.metadata, { disk: 'os' });
  const snapshotProps = await dest.withSnapshot(d1).getProperties();
  assert.equal(snapshotProps.isIncrementalCopy, true);
  assert.equal(snapshotProps.destinationSnapshot, d1);

  // Listing shows the destination and its snapshot as incremental copies.
  const listed = [];
  for await (const item of srv.serviceClient.getContainerClient('backups').listBlobsFlat({ includeSnapshots: true, includeCopy: true })) listed.push(item);
  assert.equal(listed.length, 2);
  for (const item of listed) assert.equal(item.properties.incrementalCopy, true, item.snapshot ?? 'base');
});

test('later copies ship only the pages changed since the snapshot copied last', async (t) => {
  // Goal: each destination snapshot equals its source snapshot, and the diff between destination
  // snapshots is exactly the source's diff (only those pages were transferred), resizes included.
  const { srv, source, dest, snapshotUrl } = await setup(t);
  await source.uploadPages(patternBytes(32 * KIB, 2), 0, 32 * KIB);
  await source.uploadPages(fill(3, 16 * KIB), 64 * KIB, 16 * KIB);
  await source.uploadPages(fill(4, 8 * KIB), 128 * KIB, 8 * KIB);
  const s1 = await snapshotOf(srv, source);
  const { destinationSnapshot: d1 } = await copyIncremental(srv, dest, snapshotUrl(source, s1));

  await source.uploadPages(patternBytes(4 * KIB, 5), 8 * KIB, 4 * KIB); // rewrite inside a range
  await source.clearPages(64 * KIB, 8 * KIB); // clear half a range
  await source.uploadPages(fill(6, 12 * KIB), 240 * KIB, 12 * KIB); // a new range
  const s2 = await snapshotOf(srv, source);
  const { destinationSnapshot: d2 } = await copyIncremental(srv, dest, snapshotUrl(source, s2));
  assert.notEqual(d2, d1);
  assert.ok(d2 > d1);
  await assertSameSnapshot(source, s2, dest, d2);
  await assertSameSnapshot(source, s1, dest, d1); // the first copy's snapshot is untouched
  const sourceDiff = await source.withSnapshot(s2).getPageRangesDiff(0, SIZE, s1);
  const destDiff = await dest.withSnapshot(d2).getPageRangesDiff(0, SIZE, d1);
  assert.deepEqual(spans(sourceDiff.pageRange), [[8 * KIB, 12 * KIB], [240 * KIB, 252 * KIB]]);
  assert.deepEqual(spans(sourceDiff.clearRange), [[64 * KIB, 72 * KIB]]);
  assert.deepEqual(spans(destDiff.pageRange), spans(sourceDiff.pageRange));
  assert.deepEqual(spans(destDiff.clearRange), spans(sourceDiff.clearRange));

  // A resize travels too: grow, write past the old end; then shrink below the written pages.
  await source.resize(512 * KIB);
  await source.uploadPages(fill(8, 4 * KIB), 400 * KIB, 4 * KIB);
  const s3 = await snapshotOf(srv, source);
  const { destinationSnapshot: d3 } = await copyIncremental(srv, dest, snapshotUrl(source, s3));
  await assertSameSnapshot(source, s3, dest, d3);
  assert.equal((await dest.getProperties()).contentLength, 512 * KIB);
  const grownDiff = await dest.withSnapshot(d3).getPageRangesDiff(0, 512 * KIB, d2);
  assert.deepEqual(spans(grownDiff.pageRange), [[400 * KIB, 404 * KIB]]);

  await source.resize(128 * KIB);
  const s4 = await snapshotOf(srv, source);
  // Copies can skip snapshots, and run under a blob SAS with write permission.
  const sas = generateBlobSASQueryParameters(
    { containerName: 'backups', blobName: 'disk-backup.vhd', permissions: BlobSASPermissions.parse('w'), expiresOn: new Date(srv.clock.nowMs() + 3_600_000) },
    srv.credential,
  ).toString();
  const sourceSas = generateBlobSASQueryParameters(
    { containerName: 'disks', blobName: 'disk.vhd', snapshotTime: s4, permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(srv.clock.nowMs() + 3_600_000) },
    srv.credential,
  ).toString();
  const sasDest = new PageBlobClient(`${dest.url}?${sas}`, new AnonymousCredential(), { retryOptions: { maxTries: 1 } });
  // A SAS caller must bring the source's SAS too: its own does not let it read the source.
  await expectAzureError(sasDest.startCopyIncremental(snapshotUrl(source, s4)), 403, 'CannotVerifyCopySource');
  const copied = await sasDest.startCopyIncremental(`${snapshotUrl(source, s4)}&${sourceSas}`);
  assert.equal(copied.copyStatus, 'success');
  const d4 = (await dest.getProperties()).destinationSnapshot ?? '';
  assert.ok(d4 > d3);
  await assertSameSnapshot(source, s4, dest, d4);
  assert.equal((await dest.getProperties()).contentLength, 128 * KIB);
  // Every copy left one destination snapshot.
  const snapshots = [];
  for await (const item of srv.serviceClient.getContainerClient('backups').listBlobsFlat({ includeSnapshots: true })) if (item.snapshot) snapshots.push(item.snapshot);
  assert.deepEqual(snapshots, [d1, d2, d3, d4]);
});

test('a copy source URL carrying a SAS is authorized by it; a forged SAS is refused', async (t) => {
  // Goal: the copy source's SAS authorizes reading the snapshot (how backups to another account name it).
  const { srv, source, dest } = await setup(t);
  await source.uploadPages(fill(1, 8 * KIB), 0, 8 * KIB);
  const s1 = await snapshotOf(srv, source);
  const sas = generateBlobSASQueryParameters(
    { containerName: 'disks', blobName: 'disk.vhd', snapshotTime: s1, permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(srv.clock.nowMs() + 3_600_000) },
    srv.credential,
  ).toString();
  const { destinationSnapshot } = await copyIncremental(srv, dest, `${source.url}?snapshot=${encodeURIComponent(s1)}&${sas}`);
  await assertSameSnapshot(source, s1, dest, destinationSnapshot);
  const other = srv.serviceClient.getContainerClient('backups').getPageBlobClient('other.vhd');
  const forged = `${source.url}?snapshot=${encodeURIComponent(s1)}&${sas.replace(/sig=[^&]+/, 'sig=AAAA')}`;
  await expectAzureError(other.startCopyIncremental(forged), 403, 'CannotVerifyCopySource');
});

test('errors: the source must be a page blob snapshot, of the same blob, not older than the last one copied', async (t) => {
  const { srv, source, dest, backups, snapshotUrl } = await setup(t);
  await source.uploadPages(fill(1, 8 * KIB), 0, 8 * KIB);
  const s1 = await snapshotOf(srv, source);
  await source.uploadPages(fill(2, 8 * KIB), 8 * KIB, 8 * KIB);
  const s2 = await snapshotOf(srv, source);

  // Not a snapshot: the base blob, or a version.
  await expectAzureError(dest.startCopyIncremental(source.url), 409, 'IncrementalCopySourceMustBeSnapshot');
  await expectAzureError(dest.startCopyIncremental(`${source.url}?versionid=${encodeURIComponent(s1)}`), 409, 'IncrementalCopySourceMustBeSnapshot');
  // A snapshot that does not exist; a snapshot of a block blob.
  await expectAzureError(dest.startCopyIncremental(snapshotUrl(source, '2001-01-01T00:00:00.0000000Z')), 404, 'CannotVerifyCopySource');
  const block = srv.serviceClient.getContainerClient('disks').getBlockBlobClient('notes.txt');
  await block.upload('hello', 5);
  const blockSnapshot = (await block.createSnapshot()).snapshot ?? '';
  await expectAzureError(dest.startCopyIncremental(`${block.url}?snapshot=${encodeURIComponent(blockSnapshot)}`), 409, 'InvalidBlobType');
  // The destination must not exist unless an earlier incremental copy made it.
  const plain = backups.getPageBlobClient('plain.vhd');
  await plain.create(SIZE);
  await expectAzureError(plain.startCopyIncremental(snapshotUrl(source, s1)), 409, 'InvalidBlobType');

  await copyIncremental(srv, dest, snapshotUrl(source, s2));
  await expectAzureError(dest.startCopyIncremental(snapshotUrl(source, s1)), 409, 'IncrementalCopyOfEarlierSnapshotNotAllowed');
  const other = srv.serviceClient.getContainerClient('disks').getPageBlobClient('other.vhd');
  await other.create(SIZE);
  const otherSnapshot = await snapshotOf(srv, other);
  await expectAzureError(dest.startCopyIncremental(snapshotUrl(other, otherSnapshot)), 409, 'IncrementalCopyBlobMismatch');
  // Destination conditions apply.
  await expectAzureError(dest.startCopyIncremental(snapshotUrl(source, s2), { conditions: { ifMatch: '"nope"' } }), 412, 'ConditionNotMet');
  // Nothing of the refused copies reached the destination.
  const props = await dest.getProperties();
  await assertSameSnapshot(source, s2, dest, props.destinationSnapshot ?? '');
});

test('an incremental-copy blob refuses every write but Delete; reads, leases and new copies still work', async (t) => {
  const { srv, source, dest, backups, snapshotUrl } = await setup(t);
  await source.uploadPages(fill(1, 8 * KIB), 0, 8 * KIB);
  const s1 = await snapshotOf(srv, source);
  const { destinationSnapshot: d1 } = await copyIncremental(srv, dest, snapshotUrl(source, s1));
  const before = await dest.getProperties();

  const refused = 'OperationNotAllowedOnIncrementalCopyBlob';
  await expectAzureError(dest.uploadPages(fill(2, 512), 0, 512), 409, refused);
  await expectAzureError(dest.clearPages(0, 512), 409, refused);
  await expectAzureError(dest.resize(2 * SIZE), 409, refused);
  await expectAzureError(dest.updateSequenceNumber('increment'), 409, refused);
  await expectAzureError(dest.setMetadata({ a: 'b' }), 409, refused);
  await expectAzureError(dest.setHTTPHeaders({ blobContentType: 'text/plain' }), 409, refused);
  await expectAzureError(dest.createSnapshot(), 409, refused);
  await expectAzureError(dest.create(SIZE), 409, refused); // Put Blob (PageBlob) over it
  await expectAzureError(backups.getBlockBlobClient('disk-backup.vhd').upload('x', 1), 409, refused); // Put Blob (BlockBlob)
  await expectAzureError(backups.getAppendBlobClient('disk-backup.vhd').create(), 409, refused);
  const block = srv.serviceClient.getContainerClient('disks').getBlockBlobClient('notes.txt');
  await block.upload('hello', 5);
  await expectAzureError(dest.syncCopyFromURL(block.url), 409, refused); // Copy Blob onto it
  const after = await dest.getProperties();
  assert.equal(after.etag, before.etag);
  assert.equal(after.contentLength, SIZE);

  // Reads work on the blob and its snapshot; a lease does not change it.
  assert.equal((await dest.download(0, 512)).contentLength, 512);
  assert.deepEqual(spans((await dest.withSnapshot(d1).getPageRanges()).pageRange), [[0, 8 * KIB]]);
  const lease = dest.getBlobLeaseClient();
  await lease.acquireLease(-1);
  await lease.releaseLease();

  // Delete (with its snapshots) works; the name is then free for a new incremental copy from any snapshot.
  await expectAzureError(dest.delete(), 409, 'SnapshotsPresent');
  await dest.delete({ deleteSnapshots: 'include' });
  await expectAzureError(dest.getProperties(), 404);
  const other = srv.serviceClient.getContainerClient('disks').getPageBlobClient('other.vhd');
  await other.create(SIZE);
  await other.uploadPages(fill(5, 4 * KIB), 4 * KIB, 4 * KIB);
  const o1 = await snapshotOf(srv, other);
  const { destinationSnapshot } = await copyIncremental(srv, dest, snapshotUrl(other, o1));
  await assertSameSnapshot(other, o1, dest, destinationSnapshot);
});

test('choices: the snapshot copied last may be copied again; if it was deleted, the next copy transfers the whole snapshot', async (t) => {
  const { srv, source, dest, snapshotUrl } = await setup(t);
  await source.uploadPages(fill(1, 16 * KIB), 0, 16 * KIB);
  const s1 = await snapshotOf(srv, source);
  const { destinationSnapshot: d1 } = await copyIncremental(srv, dest, snapshotUrl(source, s1));
  // Again the same snapshot: nothing changes but a new destination snapshot.
  const { destinationSnapshot: d2 } = await copyIncremental(srv, dest, snapshotUrl(source, s1));
  assert.ok(d2 > d1);
  await assertSameSnapshot(source, s1, dest, d2);
  const none = await dest.withSnapshot(d2).getPageRangesDiff(0, SIZE, d1);
  assert.deepEqual(spans(none.pageRange), []);
  assert.deepEqual(spans(none.clearRange), []);

  // The source snapshot copied last is deleted: the next copy still ends equal to its snapshot.
  await source.clearPages(0, 4 * KIB);
  await source.uploadPages(fill(2, 8 * KIB), 100 * KIB, 8 * KIB);
  const s2 = await snapshotOf(srv, source);
  await source.withSnapshot(s1).delete();
  const { destinationSnapshot: d3 } = await copyIncremental(srv, dest, snapshotUrl(source, s2));
  await assertSameSnapshot(source, s2, dest, d3);
  assert.deepEqual(spans((await dest.getPageRanges()).pageRange), [[4 * KIB, 16 * KIB], [100 * KIB, 108 * KIB]]);
});
