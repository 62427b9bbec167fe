// Access tiers through the SDK: explicit vs inferred, Archive and rehydration on the server clock,
// copies out of Archive, tiers of versions and snapshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';

const HOUR_MS = 3_600_000;

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<TestServer> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  return srv;
}

test('inferred Hot until a tier is set; Set Blob Tier changes neither ETag nor Last-Modified', async (t) => {
  // Goal: AccessTierInferred and the change time tell explicit from inferred tiers (billing depends on it).
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('tiers');
  await container.create();
  const blob = container.getBlockBlobClient('a.txt');
  await blob.upload('alpha', 5);
  const before = await blob.getProperties();
  assert.equal(before.accessTier, 'Hot');
  assert.equal(before.accessTierInferred, true);
  const response = await blob.setAccessTier('Cool');
  assert.equal(response._response.status, 200);
  const after = await blob.getProperties();
  assert.equal(after.accessTier, 'Cool');
  assert.equal(after.accessTierInferred, undefined);
  assert.ok(after.accessTierChangedOn instanceof Date);
  assert.equal(after.etag, before.etag);
  const listed = [];
  for await (const item of container.listBlobsFlat()) listed.push(item.properties);
  assert.equal(listed[0]?.accessTier, 'Cool');
  await container.getBlockBlobClient('b.txt').upload('beta', 4, { tier: 'Cold' });
  assert.equal((await container.getBlockBlobClient('b.txt').getProperties()).accessTier, 'Cold');
});

test('Archive: data reads refused; rehydration is pending until the clock passes its duration', async (t) => {
  // Goal: 409 BlobArchived while archived or rehydrating; 202 starts rehydration; High is faster.
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('archive');
  await container.create();
  const blob = container.getBlockBlobClient('cold.txt');
  await blob.upload('frozen', 6);
  await blob.setAccessTier('Archive');
  await expectAzureError(blob.download(), 409, 'BlobArchived');
  await expectAzureError(blob.setMetadata({ a: 'b' }), 409, 'BlobArchived');
  assert.equal((await blob.getProperties()).accessTier, 'Archive');
  const started = await blob.setAccessTier('Hot', { rehydratePriority: 'Standard' });
  assert.equal(started._response.status, 202);
  const pending = await blob.getProperties();
  assert.equal(pending.archiveStatus, 'rehydrate-pending-to-hot');
  assert.equal(pending.rehydratePriority, 'Standard');
  await expectAzureError(blob.setAccessTier('Archive'), 409, 'BlobBeingRehydrated');
  await blob.setAccessTier('Hot', { rehydratePriority: 'High' });
  srv.clock.advance(HOUR_MS - 1000);
  await expectAzureError(blob.download(), 409, 'BlobArchived');
  srv.clock.advance(2000);
  const done = await blob.getProperties();
  assert.equal(done.accessTier, 'Hot');
  assert.equal(done.archiveStatus, undefined);
  assert.equal((await blob.downloadToBuffer()).toString(), 'frozen');
});

test('copy out of Archive: the destination is pending until rehydration completes', async (t) => {
  // Goal: Copy Blob from an archived source yields a readable blob only after the rehydration time.
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('archcopy');
  await container.create();
  const source = container.getBlockBlobClient('src.txt');
  await source.upload('payload', 7);
  await source.setAccessTier('Archive');
  await expectAzureError(container.getBlockBlobClient('sync.txt').syncCopyFromURL(source.url), 409, 'BlobArchived');
  const target = container.getBlockBlobClient('dst.txt');
  await target.beginCopyFromURL(source.url, { tier: 'Cool', rehydratePriority: 'High' });
  assert.equal((await target.getProperties()).copyStatus, 'pending');
  await expectAzureError(target.download(), 409, 'BlobArchived');
  srv.clock.advance(HOUR_MS + 1);
  const props = await target.getProperties();
  assert.equal(props.copyStatus, 'success');
  assert.equal(props.accessTier, 'Cool');
  assert.equal((await target.downloadToBuffer()).toString(), 'payload');
  assert.equal((await source.getProperties()).accessTier, 'Archive');
});

test('versions and snapshots keep their own tier; an archived version cannot be rehydrated in place', async (t) => {
  // Goal: Set Blob Tier addresses one object; previous versions in Archive must be copied out.
  const srv = await setup(t);
  await srv.nimbus.api.setDataProtection(DEV_ACCOUNT, { versioning: true });
  const container = srv.serviceClient.getContainerClient('tierver');
  await container.create();
  const blob = container.getBlockBlobClient('v.txt');
  const first = await blob.upload('one', 3);
  await blob.upload('two', 3);
  const old = blob.withVersion(first.versionId ?? '');
  await old.setAccessTier('Archive');
  assert.equal((await old.getProperties()).accessTier, 'Archive');
  assert.equal((await blob.getProperties()).accessTier, 'Hot');
  await expectAzureError(old.setAccessTier('Hot'), 409, 'BlobArchived');
  const restored = container.getBlockBlobClient('restored.txt');
  await restored.beginCopyFromURL(old.url, { tier: 'Hot' });
  srv.clock.advance(16 * HOUR_MS);
  assert.equal((await restored.downloadToBuffer()).toString(), 'one');
});
