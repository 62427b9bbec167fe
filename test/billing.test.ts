// The usage report against Azure's documented billing figures, through the SDK on a real Nimbus:
// the four "tier never explicitly set" scenarios of the versioning billing documentation, the
// explicit-tier table (current / previous version / snapshot / Archive / back to the original tier /
// tier at write time), the soft-delete rules, and the physical bytes Nimbus stores beside them.
// https://learn.microsoft.com/azure/storage/blobs/versioning-overview#pricing-and-billing
// spec/versioning-softdelete.md §8; rules in src/blob/service/billing/family.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { enableSoftDelete, enableVersioning } from './helpers/history.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';
import { seconds } from '../src/platform/clock.js';
import type { ContainerUsage, TierBytes } from '../src/blob/service/billing/usage.js';

/** One block: above the inline limit, so its bytes live in an extent (the physical check reads those). */
const B = 100_000;
const blockId = (n: number): string => Buffer.from(`block-${String(n).padStart(4, '0')}`).toString('base64');
/** Block n's bytes: same n, same bytes (re-uploading block n sends identical data). */
const bytesOf = (n: number): Buffer => Buffer.alloc(B, n);

async function setup(t: TestContext): Promise<TestServer> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  await enableVersioning(srv);
  return srv;
}

async function newBlob(srv: TestServer, container: string): Promise<{ container: ContainerClient; blob: BlockBlobClient }> {
  const client = srv.serviceClient.getContainerClient(container);
  await client.create();
  return { container: client, blob: client.getBlockBlobClient('data.bin') };
}

/** Uploads blocks (each a new upload, so a new block to Azure) and commits `list`; returns the version id. */
async function commit(srv: TestServer, blob: BlockBlobClient, upload: number[], list: number[], tier?: 'Cool'): Promise<string> {
  srv.clock.advance(seconds(1));
  for (const n of upload) await blob.stageBlock(blockId(n), bytesOf(n), B);
  const { versionId } = await blob.commitBlockList(list.map(blockId), tier ? { tier } : {});
  assert.ok(versionId);
  return versionId;
}

async function usageOf(srv: TestServer, container: string): Promise<ContainerUsage> {
  const report = await srv.nimbus.api.usageReport(DEV_ACCOUNT, srv.clock.nowMs(), { container, detail: true });
  const usage = report.containers.find((c) => c.container === container);
  assert.ok(usage, `usage of ${container}`);
  return usage;
}

const tiers = (bytes: Partial<TierBytes>): TierBytes => ({ Hot: 0, Cool: 0, Cold: 0, Archive: 0, ...bytes });

test('tier never set: the four scenarios of the versioning billing documentation', async (t) => {
  // Goal: unique blocks across a blob and its versions, identity by upload (not content).
  // Method: one container per scenario, built with Put Block / Put Block List / Put Blob exactly as
  // the documentation draws it, then the container's billable bytes in blocks of B.
  const srv = await setup(t);

  // 1: a previous version identical to the current one (Set Metadata keeps the blocks) → 1,2,3.
  const s1 = await newBlob(srv, 'scenario1');
  await commit(srv, s1.blob, [1, 2, 3], [1, 2, 3]);
  srv.clock.advance(seconds(1));
  await s1.blob.setMetadata({ touched: 'yes' });
  assert.deepEqual((await usageOf(srv, 'scenario1')).billable, tiers({ Hot: 3 * B }));

  // 2: block 3 re-uploaded with the same id and the same bytes → 1,2,3 shared + the new 3.
  const s2 = await newBlob(srv, 'scenario2');
  await commit(srv, s2.blob, [1, 2, 3], [1, 2, 3]);
  await commit(srv, s2.blob, [3], [1, 2, 3]);
  assert.deepEqual((await usageOf(srv, 'scenario2')).billable, tiers({ Hot: 4 * B }));

  // 3: block 3 replaced by block 4; the version still has 3 → 1,2,3,4.
  const s3 = await newBlob(srv, 'scenario3');
  await commit(srv, s3.blob, [1, 2, 3], [1, 2, 3]);
  await commit(srv, s3.blob, [4], [1, 2, 4]);
  assert.deepEqual((await usageOf(srv, 'scenario3')).billable, tiers({ Hot: 4 * B }));

  // 4: two previous versions with 4 blocks between them, then Put Blob rewrites everything (4 blocks' worth) → 8.
  const s4 = await newBlob(srv, 'scenario4');
  await commit(srv, s4.blob, [1, 2, 3], [1, 2, 3]);
  await commit(srv, s4.blob, [4], [1, 2, 4]);
  srv.clock.advance(seconds(1));
  const rewrite = Buffer.concat([5, 6, 7, 8].map(bytesOf));
  await s4.blob.upload(rewrite, rewrite.length);
  const usage4 = await usageOf(srv, 'scenario4');
  assert.deepEqual(usage4.billable, tiers({ Hot: 8 * B }));
  assert.deepEqual(usage4.counts, { blobs: 1, versions: 2, snapshots: 0, softDeleted: 0 });
  // Per object: the oldest version carries the shared blocks, each later one what it added.
  assert.deepEqual(usage4.blobs?.[0]?.objects.map((o) => [o.kind, o.basis, o.billedBytes / B]), [
    ['version', 'unique-blocks', 3], ['version', 'unique-blocks', 1], ['current', 'unique-blocks', 4],
  ]);
});

/** v1 = {1,2,3}, v2 = {1,2,4}, current = {1,2,5}: 5 unique blocks while no tier is set. */
async function threeVersions(srv: TestServer, container: string) {
  const { blob } = await newBlob(srv, container);
  const v1 = await commit(srv, blob, [1, 2, 3], [1, 2, 3]);
  const v2 = await commit(srv, blob, [4], [1, 2, 4]);
  const v3 = await commit(srv, blob, [5], [1, 2, 5]);
  assert.deepEqual((await usageOf(srv, container)).billable, tiers({ Hot: 5 * B }));
  return { blob, v1, v2, v3 };
}

test('tier explicitly set: the billing table of the versioning documentation', async (t) => {
  // Goal: each row of "Moving a blob to a new tier" (plus the rules around it): the tiered object at
  // full length in its new tier; the oldest version left in the original tier at full length, the
  // others by unique blocks; Archive of the current version bills everything at full length;
  // moving back keeps full-length billing; a tier given at write time counts as explicit.
  const srv = await setup(t);

  // Explicitly on the current version → Cool: current 3 in Cool; Hot: v1 in full (3) + v2's block 4.
  const current = await threeVersions(srv, 'current-cool');
  await current.blob.setAccessTier('Cool');
  assert.deepEqual((await usageOf(srv, 'current-cool')).billable, tiers({ Hot: 4 * B, Cool: 3 * B }));

  // Explicitly on a previous version (v2) → Cool: v2 3 in Cool; Hot: v1 in full (3) + current's block 5.
  const previous = await threeVersions(srv, 'version-cool');
  await previous.blob.withVersion(previous.v2).setAccessTier('Cool');
  assert.deepEqual((await usageOf(srv, 'version-cool')).billable, tiers({ Hot: 4 * B, Cool: 3 * B }));

  // To Archive (the current version): full content length of every version.
  const archived = await threeVersions(srv, 'current-archive');
  await archived.blob.setAccessTier('Archive');
  const archiveUsage = await usageOf(srv, 'current-archive');
  assert.deepEqual(archiveUsage.billable, tiers({ Hot: 6 * B, Archive: 3 * B }));
  assert.ok(archiveUsage.blobs?.[0]?.objects.every((o) => o.basis === 'full-length'));

  // Moved back to the original tier: still billed at full length (7 = 3 current + 3 v1 + 1 of v2).
  const back = await threeVersions(srv, 'back-to-hot');
  await back.blob.setAccessTier('Cool');
  srv.clock.advance(seconds(1));
  await back.blob.setAccessTier('Hot');
  assert.deepEqual((await usageOf(srv, 'back-to-hot')).billable, tiers({ Hot: 7 * B }));

  // A snapshot tiered explicitly: the snapshot at full length in Cool; the rest share blocks in Hot.
  const snap = await threeVersions(srv, 'snapshot-cool');
  srv.clock.advance(seconds(1));
  const { snapshot } = await snap.blob.createSnapshot();
  assert.ok(snapshot);
  await snap.blob.withSnapshot(snapshot).setAccessTier('Cool');
  assert.deepEqual((await usageOf(srv, 'snapshot-cool')).billable, tiers({ Hot: 5 * B, Cool: 3 * B }));

  // x-ms-access-tier on Put Block List is an explicit tier too (same figures as the first row).
  const { blob } = await newBlob(srv, 'tier-at-write');
  await commit(srv, blob, [1, 2, 3], [1, 2, 3]);
  await commit(srv, blob, [4], [1, 2, 4]);
  await commit(srv, blob, [5], [1, 2, 5], 'Cool');
  assert.deepEqual((await usageOf(srv, 'tier-at-write')).billable, tiers({ Hot: 4 * B, Cool: 3 * B }));
});

test('soft delete: soft-deleted objects at full length; overwriting an explicitly tiered current version bills every version in full', async (t) => {
  // Goal: the "Deleting a blob when soft delete is enabled" rules of the billing documentation,
  // and that soft-deleted containers are still billed.
  const srv = await setup(t);
  await enableSoftDelete(srv, 7);

  // A soft-deleted previous version (v1) is billed in full; v2 and the current share blocks again.
  const deleted = await threeVersions(srv, 'deleted-version');
  await deleted.blob.withVersion(deleted.v1).delete();
  const deletedUsage = await usageOf(srv, 'deleted-version');
  assert.deepEqual(deletedUsage.billable, tiers({ Hot: (3 + 3 + 1) * B }));
  assert.equal(deletedUsage.counts.softDeleted, 1);

  // The current version was set to Cool, then overwritten: every previous version at full length.
  const overwritten = await threeVersions(srv, 'overwritten-explicit');
  await overwritten.blob.setAccessTier('Cool');
  await commit(srv, overwritten.blob, [6], [1, 2, 6]);
  // v1 3 + v2 3 (Hot, full), v3 3 (Cool, full), current alone in Hot → oldest there, in full: 3.
  assert.deepEqual((await usageOf(srv, 'overwritten-explicit')).billable, tiers({ Hot: 9 * B, Cool: 3 * B }));

  // Container soft delete: the data of a deleted container is billed like active data.
  await srv.nimbus.api.setDataProtection(DEV_ACCOUNT, { containerDeleteRetention: { enabled: true, days: 7 } });
  await threeVersions(srv, 'doomed');
  await srv.serviceClient.getContainerClient('doomed').delete();
  const report = await srv.nimbus.api.usageReport(DEV_ACCOUNT, srv.clock.nowMs());
  const doomed = report.containers.find((c) => c.container === 'doomed');
  assert.equal(doomed?.deleted, true);
  assert.deepEqual(doomed?.billable, tiers({ Hot: 5 * B }));
});

test('physical bytes: what Nimbus stores beside what Azure bills', async (t) => {
  // Goal: the report shows both figures. Versions share blocks physically; a re-uploaded identical
  // block is billed again and (no content dedupe in the engine) stored again; a copy inside the
  // account is billed for each blob but stored once; small blocks count their inline bytes.
  const srv = await setup(t);
  const { blob } = await newBlob(srv, 'physical');
  await commit(srv, blob, [1, 2, 3], [1, 2, 3]);
  await commit(srv, blob, [3], [1, 2, 3]);
  let usage = await usageOf(srv, 'physical');
  assert.equal(usage.billableBytes, 4 * B);
  assert.equal(usage.physicalBytes, 4 * B);

  // A copy into another container: billed twice (two blobs), stored once per account.
  const copies = srv.serviceClient.getContainerClient('copies');
  await copies.create();
  await copies.getBlockBlobClient('copy.bin').syncCopyFromURL(blob.url);
  const report = await srv.nimbus.api.usageReport(DEV_ACCOUNT, srv.clock.nowMs());
  const copyUsage = report.containers.find((c) => c.container === 'copies');
  assert.equal(copyUsage?.billableBytes, 3 * B);
  assert.equal(copyUsage?.physicalBytes, 3 * B);
  assert.equal(report.billableBytes, 7 * B);
  assert.equal(report.physicalBytes, 4 * B);

  // Small blobs are kept inline: their bytes count too.
  await srv.serviceClient.getContainerClient('physical').getBlockBlobClient('tiny.txt').upload('0123456789', 10);
  usage = await usageOf(srv, 'physical');
  assert.equal(usage.physicalBytes, 4 * B + 10);
  assert.equal(usage.billableBytes, 4 * B + 10);
});

test('page blobs: unique pages across a page blob and its snapshots; identical rewrites are new pages', async (t) => {
  // Goal: the page-blob half of "unique blocks or pages". Method: 4 pages written, a snapshot, then
  // one page rewritten with identical bytes (a new unique page) and one cleared (still billed in the
  // snapshot).
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('pages');
  await container.create();
  const page = container.getPageBlobClient('disk.vhd');
  await page.create(8 * 512);
  await page.uploadPages(Buffer.alloc(4 * 512, 7), 0, 4 * 512);
  srv.clock.advance(seconds(1));
  await page.createSnapshot();
  await page.uploadPages(Buffer.alloc(512, 7), 512, 512);
  await page.clearPages(3 * 512, 512);
  const usage = await usageOf(srv, 'pages');
  assert.deepEqual(usage.billable, tiers({ Hot: 5 * 512 }));
});
