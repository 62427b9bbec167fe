// Page blobs through the SDK's PageBlobClient: create, Put Page / Clear, Get Page Ranges and diffs
// (prevsnapshot and the managed-disk previous-snapshot URL), resize, sequence numbers, snapshots,
// copies, versions, and page data released when blobs go away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnonymousCredential, BlobSASPermissions, generateBlobSASQueryParameters, PageBlobClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';

const KIB = 1024;
const pages = (fill: number, bytes: number) => Buffer.alloc(bytes, fill);
/** The SDK reports a range as { offset, count } with count = End - Start (End inclusive): to [start, end). */
const spans = (list: Array<{ offset: number; count?: number }> | undefined) => (list ?? []).map((r) => [r.offset, r.offset + (r.count ?? 0) + 1]);

async function setup(t: { after(fn: () => Promise<void>): void }, name: string): Promise<{ srv: TestServer; blob: PageBlobClient }> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const container = srv.serviceClient.getContainerClient(name);
  await container.create();
  return { srv, blob: container.getPageBlobClient('disk.vhd') };
}

test('create, write and clear pages; Get Page Ranges coalesces; reads return zeros for empty pages', async (t) => {
  // Goal: the page map is exact and unwritten pages read as zeros.
  const { blob } = await setup(t, 'pages');
  await blob.create(64 * KIB);
  await blob.uploadPages(pages(1, 4 * KIB), 0, 4 * KIB);
  await blob.uploadPages(pages(2, 4 * KIB), 4 * KIB, 4 * KIB);
  await blob.uploadPages(pages(3, 512), 32 * KIB, 512);
  const ranges = await blob.getPageRanges();
  assert.deepEqual(spans(ranges.pageRange), [[0, 8 * KIB], [32 * KIB, 32 * KIB + 512]]);
  await blob.clearPages(2 * KIB, 4 * KIB);
  const after = await blob.getPageRanges();
  assert.deepEqual(spans(after.pageRange), [[0, 2 * KIB], [6 * KIB, 8 * KIB], [32 * KIB, 32 * KIB + 512]]);
  const bytes = await blob.downloadToBuffer();
  assert.equal(bytes.length, 64 * KIB);
  assert.equal(bytes[0], 1);
  assert.equal(bytes[3 * KIB], 0);
  assert.equal(bytes[7 * KIB], 2);
  assert.equal(bytes[32 * KIB], 3);
  assert.equal(bytes[40 * KIB], 0);
  const ranged = await blob.download(6 * KIB, 2 * KIB);
  assert.equal(ranged.contentLength, 2 * KIB);
  await expectAzureError(blob.uploadPages(pages(1, 100), 0, 100), 416);
  await expectAzureError(blob.uploadPages(pages(1, 512), 64 * KIB, 512), 416);
});

test('snapshots and diffs: prevsnapshot and the managed-disk previous-snapshot URL return changed and cleared ranges', async (t) => {
  // Goal: a diff lists pages written since the older snapshot (even with the same bytes) and pages cleared.
  const { srv, blob } = await setup(t, 'diffs');
  await blob.create(1024 * KIB);
  await blob.uploadPages(pages(1, 8 * KIB), 0, 8 * KIB);
  await blob.uploadPages(pages(1, 8 * KIB), 512 * KIB, 8 * KIB);
  const s1 = (await blob.createSnapshot()).snapshot ?? '';
  await blob.uploadPages(pages(1, 4 * KIB), 0, 4 * KIB); // same bytes: still a change
  await blob.clearPages(512 * KIB, 8 * KIB);
  await blob.uploadPages(pages(9, 4 * KIB), 900 * KIB, 4 * KIB);
  const s2 = (await blob.createSnapshot()).snapshot ?? '';
  const diff = await blob.withSnapshot(s2).getPageRangesDiff(0, 1024 * KIB, s1);
  assert.deepEqual(spans(diff.pageRange), [[0, 4 * KIB], [900 * KIB, 904 * KIB]]);
  assert.deepEqual(spans(diff.clearRange), [[512 * KIB, 520 * KIB]]);
  const sas = (snapshot: string) => generateBlobSASQueryParameters(
    { containerName: 'diffs', blobName: 'disk.vhd', snapshotTime: snapshot, permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(srv.clock.nowMs() + 3_600_000) },
    srv.credential,
  ).toString();
  const s2Client = new PageBlobClient(`${blob.url}?snapshot=${encodeURIComponent(s2)}&${sas(s2)}`, new AnonymousCredential());
  const managed = await s2Client.getPageRangesDiffForManagedDisks(0, 1024 * KIB, `${blob.url}?snapshot=${encodeURIComponent(s1)}&${sas(s1)}`);
  assert.deepEqual(managed.pageRange, diff.pageRange);
  assert.deepEqual(managed.clearRange, diff.clearRange);
  await expectAzureError(blob.withSnapshot(s1).getPageRangesDiff(0, 1024 * KIB, s2), 400, 'PreviousSnapshotCannotBeNewer');
  // The snapshot still reads as the full disk at its time.
  const old = await blob.withSnapshot(s1).downloadToBuffer();
  assert.equal(old[512 * KIB], 1);
  assert.equal(old[900 * KIB], 0);
});

test('resize, sequence numbers and their conditions', async (t) => {
  // Goal: x-ms-blob-sequence-number actions and x-ms-if-sequence-number-* conditions.
  const { blob } = await setup(t, 'seqno');
  await blob.create(8 * KIB, { blobSequenceNumber: 5 });
  assert.equal((await blob.getProperties()).blobSequenceNumber, 5);
  await blob.updateSequenceNumber('increment');
  await blob.updateSequenceNumber('max', 3);
  assert.equal((await blob.getProperties()).blobSequenceNumber, 6);
  await expectAzureError(blob.uploadPages(pages(1, 512), 0, 512, { conditions: { ifSequenceNumberLessThan: 6 } }), 412, 'SequenceNumberConditionNotMet');
  await blob.uploadPages(pages(1, 512), 7 * KIB + 512, 512);
  await blob.resize(4 * KIB);
  assert.equal((await blob.getProperties()).contentLength, 4 * KIB);
  assert.deepEqual(spans((await blob.getPageRanges()).pageRange), []);
  await blob.resize(16 * KIB);
  assert.equal((await blob.downloadToBuffer()).length, 16 * KIB);
});

test('copies branch the pages; versions and soft delete keep frozen page views; purged data is released', async (t) => {
  // Goal: page content of versions/snapshots is immutable while the current blob keeps changing.
  const { srv, blob } = await setup(t, 'pagever');
  await srv.nimbus.api.setDataProtection(DEV_ACCOUNT, { versioning: true, deleteRetention: { enabled: true, days: 1 } });
  const created = await blob.create(16 * KIB);
  await blob.uploadPages(pages(4, 4 * KIB), 0, 4 * KIB);
  // Set Metadata keeps the state so far (pages written in place) as the version `created` names;
  // later page writes change the current version only.
  const v2 = await blob.setMetadata({ stage: 'two' });
  await blob.uploadPages(pages(5, 4 * KIB), 0, 4 * KIB);
  assert.equal((await blob.withVersion(created.versionId ?? '').downloadToBuffer())[0], 4);
  assert.equal((await blob.withVersion(v2.versionId ?? '').downloadToBuffer())[0], 5);
  assert.equal((await blob.downloadToBuffer())[0], 5);
  const target = new PageBlobClient(blob.url.replace('disk.vhd', 'copy.vhd'), srv.credential);
  await target.syncCopyFromURL(blob.url).catch(async () => (await target.beginCopyFromURL(blob.url)).pollUntilDone());
  await blob.uploadPages(pages(6, 4 * KIB), 0, 4 * KIB);
  assert.equal((await target.downloadToBuffer())[0], 5);
  await blob.delete();
  await target.delete();
  srv.clock.advance(2 * 86_400_000);
  await srv.runDue();
});
