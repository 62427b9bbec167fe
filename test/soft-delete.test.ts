// Blob soft delete, alone and together with versioning, through @azure/storage-blob against a
// real Nimbus with a manual clock: what is kept, listing with include=deleted, Undelete Blob,
// expiry and purge, retention fixed at delete time, overwrite protection, permanent delete.
// spec/versioning-softdelete.md §4–§5, spec/blob-rest.md §12; rules in src/blob/service/history.ts.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BlobClient, type ContainerClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { advanceDays, enableSoftDelete, enableVersioning, listItems, listRows, text, versionIdsOf } from './helpers/history.js';
import { days, seconds } from '../src/platform/clock.js';

async function setup(t: TestContext, options: { versioning?: boolean; retentionDays?: number; allowPermanentDelete?: boolean } = {}): Promise<{ srv: TestServer; container: ContainerClient }> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  if (options.versioning) await enableVersioning(srv);
  await enableSoftDelete(srv, options.retentionDays ?? 7, options.allowPermanentDelete ?? false);
  const container = srv.serviceClient.getContainerClient('trash');
  await container.create();
  return { srv, container };
}

/** A client for the same blob whose every request carries `deletetype=permanent` (the SDK has no option for it). */
function permanentDeleteClient(srv: TestServer, blob: BlobClient, selector: { versionId?: string; snapshot?: string }): BlobClient {
  const url = new URL(blob.url);
  if (selector.versionId) url.searchParams.set('versionid', selector.versionId);
  if (selector.snapshot) url.searchParams.set('snapshot', selector.snapshot);
  url.searchParams.set('deletetype', 'permanent');
  return new BlobClient(url.toString(), srv.credential, { retryOptions: { maxTries: 1 } });
}

test('the data-plane DeleteRetentionPolicy turns blob soft delete on, and a deleted blob is kept, hidden, and restorable', async (t) => {
  // Goal: STYLE.md's example, extended: Set Blob Service Properties is one way to the switch;
  // a soft-deleted blob is invisible to reads and default listings, shown with include=deleted.
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const { serviceClient } = srv;
  await serviceClient.setProperties({ deleteRetentionPolicy: { enabled: true, days: 7 } });
  const policy = (await serviceClient.getProperties()).deleteRetentionPolicy;
  assert.equal(policy?.enabled, true);
  assert.equal(policy?.days, 7); // (the SDK's model has no AllowPermanentDelete; it passes the element through)
  assert.equal((await srv.nimbus.api.getDataProtection('devstoreaccount1')).deleteRetention.enabled, true, 'one stored setting');
  const container = serviceClient.getContainerClient('photos');
  await container.create();
  const blob = container.getBlockBlobClient('cat.jpg');
  await blob.upload('meow', 4);
  await blob.delete();

  await expectAzureError(blob.downloadToBuffer(), 404, 'BlobNotFound');
  await expectAzureError(blob.getProperties(), 404);
  assert.deepEqual(await listRows(container, {}), []);
  srv.clock.advance(days(2));
  const [listed] = await listItems(container, { includeDeleted: true });
  assert.equal(listed?.name, 'cat.jpg');
  assert.equal(listed?.deleted, true);
  assert.equal(listed?.properties.remainingRetentionDays, 5);
  assert.equal(listed?.properties.deletedOn?.getTime(), Math.floor((srv.clock.nowMs() - days(2)) / 1000) * 1000);

  srv.clock.advance(days(4)); await srv.runDue();
  await blob.undelete();                                           // 1. still inside retention
  assert.equal(await text(blob.downloadToBuffer()), 'meow');
  assert.deepEqual(await listRows(container, { includeDeleted: true }), [{ name: 'cat.jpg', kind: 'base' }]);
  await blob.delete();
  srv.clock.advance(days(7) - 1); await srv.runDue();
  assert.equal((await listRows(container, { includeDeleted: true })).length, 1, 'one millisecond before expiry it is still there');
  srv.clock.advance(1); await srv.runDue();
  assert.deepEqual(await listRows(container, { includeDeleted: true }), [], '2. purged at expiry');
  await expectAzureError(blob.undelete(), 404, 'BlobNotFound');
});

test('undelete restores the blob with its soft-deleted snapshots; on a live blob only its snapshots; no-op otherwise', async (t) => {
  // Goal: §5 Undelete Blob, versioning off.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('u.txt');
  await blob.upload('one', 3);
  const s1 = (await blob.createSnapshot()).snapshot as string;
  const s2 = (await blob.createSnapshot()).snapshot as string;
  await expectAzureError(blob.delete(), 409, 'SnapshotsPresent');
  await blob.delete({ deleteSnapshots: 'include' });
  assert.deepEqual(await listRows(container), [
    { name: 'u.txt', kind: 'snapshot', id: s1, deleted: true },
    { name: 'u.txt', kind: 'snapshot', id: s2, deleted: true },
    { name: 'u.txt', kind: 'base', deleted: true },
  ]);
  await expectAzureError(blob.withSnapshot(s1).downloadToBuffer(), 404, 'BlobNotFound');
  await blob.undelete();
  assert.deepEqual(await listRows(container), [
    { name: 'u.txt', kind: 'snapshot', id: s1 }, { name: 'u.txt', kind: 'snapshot', id: s2 }, { name: 'u.txt', kind: 'base' },
  ]);

  await blob.withSnapshot(s1).delete();
  await blob.delete({ deleteSnapshots: 'only' });
  assert.deepEqual((await listRows(container)).map((r) => r.deleted ?? false), [true, true, false], 'snapshots soft-deleted, base live');
  await blob.undelete();
  assert.deepEqual((await listRows(container)).map((r) => r.deleted ?? false), [false, false, false], 'undelete on a live blob restores its snapshots');
  await blob.undelete(); // nothing deleted: 200, no change
  assert.equal((await listRows(container)).length, 3);
  await expectAzureError(container.getBlobClient('never.txt').undelete(), 404, 'BlobNotFound');
});

test('retention is fixed at delete time; disabling soft delete keeps what is already deleted', async (t) => {
  // Goal: §5 "changing the policy affects only objects deleted afterwards". Method: delete under a
  // 7-day policy, shorten it to 2 days, delete another blob, watch both expire; then turn it off.
  const { srv, container } = await setup(t, { retentionDays: 7 });
  const early = container.getBlockBlobClient('early.txt');
  const late = container.getBlockBlobClient('late.txt');
  await early.upload('e', 1);
  await late.upload('l', 1);
  await early.delete();
  await srv.serviceClient.setProperties({ deleteRetentionPolicy: { enabled: true, days: 2 } });
  await late.delete();
  const remaining = async () => Object.fromEntries((await listItems(container, { includeDeleted: true })).map((i) => [i.name, i.properties.remainingRetentionDays]));
  assert.deepEqual(await remaining(), { 'early.txt': 7, 'late.txt': 2 });
  await advanceDays(srv, 3);
  assert.deepEqual(await remaining(), { 'early.txt': 4 }, 'the 2-day blob is purged, the 7-day one is not');

  await srv.serviceClient.setProperties({ deleteRetentionPolicy: { enabled: false } });
  await advanceDays(srv, 3);
  await early.undelete();
  assert.equal(await text(early.downloadToBuffer()), 'e', 'still restorable after soft delete was turned off');
  await early.delete();
  assert.deepEqual(await listRows(container), [], 'with soft delete off a delete is permanent');
});

test('deleting an already soft-deleted snapshot is 404 and does not move its expiry', async (t) => {
  const { srv, container } = await setup(t, { retentionDays: 3 });
  const blob = container.getBlockBlobClient('twice.txt');
  await blob.upload('x', 1);
  const snapshot = (await blob.createSnapshot()).snapshot as string;
  await blob.withSnapshot(snapshot).delete();
  srv.clock.advance(days(2));
  await expectAzureError(blob.withSnapshot(snapshot).delete(), 404, 'BlobNotFound');
  await advanceDays(srv, 1);
  assert.deepEqual(await listRows(container), [{ name: 'twice.txt', kind: 'base' }], 'expired 3 days after the first delete');
});

test('with soft delete only, an overwrite keeps a soft-deleted snapshot; Set Metadata and Set Properties keep nothing', async (t) => {
  // Goal: §4 overwrite table (versioning off, soft delete on).
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('o.txt');
  await blob.upload('one', 3, { metadata: { rev: '1' } });
  srv.clock.advance(seconds(1));
  await blob.setMetadata({ rev: '2' });
  await blob.setHTTPHeaders({ blobContentType: 'text/plain' });
  assert.deepEqual(await listRows(container), [{ name: 'o.txt', kind: 'base' }], 'metadata and properties: no protection');
  await blob.upload('two', 3);
  const rows = await listRows(container);
  assert.deepEqual(rows.map((r) => [r.kind, r.deleted ?? false]), [['snapshot', true], ['base', false]]);
  assert.deepEqual(await listRows(container, { includeSnapshots: true }), [{ name: 'o.txt', kind: 'base' }], 'hidden without include=deleted');
  await blob.undelete();
  const restored = blob.withSnapshot(rows[0]?.id as string);
  assert.equal(await text(restored.downloadToBuffer()), 'one');
  assert.deepEqual((await restored.getProperties()).metadata, { rev: '2' }, 'the state just before the overwrite');
  assert.equal(await text(blob.downloadToBuffer()), 'two');
  // The automatic snapshot expires like any soft-deleted object.
  await blob.upload('three', 5);
  await advanceDays(srv, 7);
  assert.deepEqual((await listRows(container)).map((r) => [r.kind, r.deleted ?? false]), [['snapshot', false], ['base', false]]);
});

test('writing over a soft-deleted blob keeps the deleted data as a soft-deleted snapshot', async (t) => {
  // Goal: §4 "overwriting a soft-deleted blob with a blob of the same type keeps the soft-deleted
  // data as a soft-deleted snapshot". (The other-type case needs page/append blobs: not built yet.)
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('reborn.txt');
  await blob.upload('old', 3);
  await blob.delete();
  await blob.upload('new', 3);
  const rows = await listRows(container);
  assert.deepEqual(rows.map((r) => [r.kind, r.deleted ?? false]), [['snapshot', true], ['base', false]]);
  await blob.undelete();
  assert.equal(await text(blob.withSnapshot(rows[0]?.id as string).downloadToBuffer()), 'old');
  assert.equal(await text(blob.downloadToBuffer()), 'new');
});

test('writing a blob of another type over a soft-deleted blob permanently deletes its soft-deleted data', async (t) => {
  // Goal: §4 "with a different type all soft-deleted data of that name is permanently deleted".
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('retyped.bin');
  await blob.upload('old', 3);
  await blob.createSnapshot();
  await blob.delete({ deleteSnapshots: 'include' });
  assert.equal((await listRows(container)).length, 2, 'a soft-deleted snapshot and base');
  await container.getPageBlobClient('retyped.bin').create(512);
  assert.deepEqual(await listRows(container), [{ name: 'retyped.bin', kind: 'base' }]);
  await blob.undelete();
  assert.deepEqual(await listRows(container), [{ name: 'retyped.bin', kind: 'base' }], 'nothing left to restore');
  assert.equal((await blob.getProperties()).blobType, 'PageBlob');
});

test('soft delete + versioning: overwrite makes a version, deleting the current makes no soft-deleted object', async (t) => {
  // Goal: §5 operation table, right column. Method: overwrite, delete, and list include=deleted.
  const { srv, container } = await setup(t, { versioning: true });
  const blob = container.getBlockBlobClient('both.txt');
  const v1 = (await blob.upload('one', 3)).versionId as string;
  srv.clock.advance(seconds(1));
  const v2 = (await blob.upload('two', 3)).versionId as string;
  assert.deepEqual(await listRows(container), [
    { name: 'both.txt', kind: 'version', id: v1 }, { name: 'both.txt', kind: 'current', id: v2 },
  ], 'a version, no soft-deleted snapshot');
  await blob.delete();
  assert.deepEqual(await listRows(container), [
    { name: 'both.txt', kind: 'version', id: v1 }, { name: 'both.txt', kind: 'version', id: v2 },
  ], 'current → previous version; nothing soft-deleted');
  await advanceDays(srv, 30);
  assert.equal((await listRows(container)).length, 2, 'retention does not apply to previous versions');
  await blob.undelete(); // nothing soft-deleted: 200, and no current version comes back
  await expectAzureError(blob.getProperties(), 404);
});

test('soft delete + versioning: a deleted previous version is soft-deleted; undelete restores versions, not a current one', async (t) => {
  // Goal: §4 Delete Blob with versionid (soft delete on), §5 Undelete with versioning, and §3
  // "copy a previous version onto the name" as the way to get a current version back.
  const { srv, container } = await setup(t, { versioning: true, retentionDays: 5 });
  const blob = container.getBlockBlobClient('restore.txt');
  const ids: string[] = [];
  for (const body of ['one', 'two', 'three']) {
    srv.clock.advance(seconds(1));
    ids.push((await blob.upload(body, body.length)).versionId as string);
  }
  const [v1, v2, v3] = ids as [string, string, string];
  await expectAzureError(blob.withVersion(v3).delete(), 403, 'OperationNotAllowedOnRootBlob');
  await blob.withVersion(v1).delete();
  await blob.delete();
  assert.deepEqual(await listRows(container), [
    { name: 'restore.txt', kind: 'version', id: v1, deleted: true },
    { name: 'restore.txt', kind: 'version', id: v2 },
    { name: 'restore.txt', kind: 'version', id: v3 },
  ]);
  const deletedItem = (await listItems(container, { includeVersions: true, includeDeleted: true }))[0];
  assert.equal(deletedItem?.properties.remainingRetentionDays, 5);
  assert.deepEqual(await versionIdsOf(container, 'restore.txt'), [v2, v3], 'soft-deleted versions need include=deleted');
  await expectAzureError(blob.withVersion(v1).downloadToBuffer(), 404, 'BlobNotFound');

  await blob.undelete();
  assert.deepEqual(await versionIdsOf(container, 'restore.txt'), [v1, v2, v3], 'every soft-deleted version is back');
  await expectAzureError(blob.getProperties(), 404, undefined);
  assert.equal(await text(blob.withVersion(v1).downloadToBuffer()), 'one');

  // Promote a version: Copy Blob with ?versionid= onto the same name → a new current version.
  srv.clock.advance(seconds(1));
  const promoted = await blob.syncCopyFromURL(blob.withVersion(v1).url);
  assert.ok(promoted.versionId !== undefined && promoted.versionId > v3);
  assert.equal(await text(blob.downloadToBuffer()), 'one');
  assert.deepEqual(await versionIdsOf(container, 'restore.txt'), [v1, v2, v3, promoted.versionId]);

  // A soft-deleted version expires after its retention.
  await blob.withVersion(v2).delete();
  await advanceDays(srv, 5);
  assert.deepEqual(await versionIdsOf(container, 'restore.txt'), [v1, v3, promoted.versionId]);
  await blob.undelete();
  assert.deepEqual(await versionIdsOf(container, 'restore.txt'), [v1, v3, promoted.versionId], 'purged: nothing to restore');
});

test('soft delete + versioning: deleted snapshots are soft-deleted too', async (t) => {
  const { container } = await setup(t, { versioning: true });
  const blob = container.getBlockBlobClient('snap.txt');
  await blob.upload('x', 1);
  const { snapshot } = await blob.createSnapshot();
  await blob.delete({ deleteSnapshots: 'include' });
  const snapRow = (await listRows(container)).find((r) => r.kind === 'snapshot');
  assert.deepEqual(snapRow, { name: 'snap.txt', kind: 'snapshot', id: snapshot, deleted: true });
  await blob.undelete();
  assert.equal(await text(blob.withSnapshot(snapshot as string).downloadToBuffer()), 'x');
});

test('permanent delete of a soft-deleted version or snapshot needs AllowPermanentDelete', async (t) => {
  // Goal: §4 "Permanent delete". Nimbus's choice for the [?] codes: 400 InvalidOperation both
  // when the account does not allow it and when the target is not soft-deleted.
  const { srv, container } = await setup(t, { versioning: true });
  const blob = container.getBlockBlobClient('perm.txt');
  const v1 = (await blob.upload('one', 3)).versionId as string;
  srv.clock.advance(seconds(1));
  await blob.upload('two', 3);
  const { snapshot } = await blob.createSnapshot();
  await blob.withVersion(v1).delete();
  await blob.withSnapshot(snapshot as string).delete();

  await expectAzureError(permanentDeleteClient(srv, blob, { versionId: v1 }).delete(), 400, 'InvalidOperation');
  await enableSoftDelete(srv, 7, true);
  const versions = await versionIdsOf(container, 'perm.txt');
  const live = versions[0] as string;
  await expectAzureError(permanentDeleteClient(srv, blob, { versionId: live }).delete(), 400, 'InvalidOperation');
  await expectAzureError(permanentDeleteClient(srv, blob, {}).delete(), 400, 'InvalidQueryParameterValue');

  await permanentDeleteClient(srv, blob, { versionId: v1 }).delete();
  await permanentDeleteClient(srv, blob, { snapshot: snapshot as string }).delete();
  assert.equal((await listRows(container)).filter((r) => r.deleted).length, 0, 'gone at once');
  await blob.undelete();
  await expectAzureError(blob.withVersion(v1).getProperties(), 404);
  await expectAzureError(permanentDeleteClient(srv, blob, { versionId: v1 }).delete(), 404, 'BlobNotFound');
});
