// Snapshot Blob through @azure/storage-blob against a real Nimbus: create, read, delete one,
// delete with x-ms-delete-snapshots include|only, SnapshotsPresent, and snapshots being read-only.
// spec/blob-rest.md §11–§12, spec/versioning-softdelete.md §4.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { enableVersioning, listRows, text, versionIdsOf, TIME_ID } from './helpers/history.js';
import { seconds } from '../src/platform/clock.js';

async function setup(t: TestContext): Promise<{ srv: TestServer; container: ContainerClient }> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const container = srv.serviceClient.getContainerClient('snaps');
  await container.create();
  return { srv, container };
}

test('a snapshot keeps the content and metadata of the moment it was taken', async (t) => {
  // Goal: §11. Method: snapshot, overwrite the base, read both; snapshot with its own metadata.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('photo.txt');
  const written = await blob.upload('before', 6, { metadata: { state: 'before' } });
  srv.clock.set(Date.UTC(2024, 0, 1, 10, 20, 30, 456));
  const taken = await blob.createSnapshot();
  assert.equal(taken.snapshot, '2024-01-01T10:20:30.4560000Z', 'snapshot time with 7 fraction digits');
  assert.equal(taken.etag, written.etag, 'ETag of the base blob, unchanged');
  assert.equal(taken.versionId, undefined, 'no version id with versioning off');
  srv.clock.advance(seconds(1));
  const own = await blob.createSnapshot({ metadata: { state: 'labelled' } });
  assert.ok(own.snapshot !== undefined && own.snapshot > (taken.snapshot as string));

  await blob.upload('after', 5, { metadata: { state: 'after' } });
  const snapshot = blob.withSnapshot(taken.snapshot as string);
  assert.equal(await text(snapshot.downloadToBuffer()), 'before');
  assert.deepEqual((await snapshot.getProperties()).metadata, { state: 'before' });
  assert.deepEqual((await blob.withSnapshot(own.snapshot as string).getProperties()).metadata, { state: 'labelled' }, 'x-ms-meta-* on Snapshot Blob become the snapshot metadata');
  assert.equal(await text(blob.downloadToBuffer()), 'after');
  assert.deepEqual(await listRows(container, { includeSnapshots: true }), [
    { name: 'photo.txt', kind: 'snapshot', id: taken.snapshot },
    { name: 'photo.txt', kind: 'snapshot', id: own.snapshot },
    { name: 'photo.txt', kind: 'base' },
  ], 'snapshots oldest first, then the base blob');
  assert.deepEqual(await listRows(container, {}), [{ name: 'photo.txt', kind: 'base' }], 'not listed without include=snapshots');

  await expectAzureError(blob.withSnapshot('2001-01-01T00:00:00.0000000Z').downloadToBuffer(), 404, 'BlobNotFound');
  await expectAzureError(container.getBlobClient('missing.txt').createSnapshot(), 404, 'BlobNotFound');
});

test('snapshot ids are unique and increasing even within one tick and when the clock steps back', async (t) => {
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('burst.txt');
  await blob.upload('x', 1);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await blob.createSnapshot()).snapshot as string);
  srv.clock.advance(-3_600_000);
  ids.push((await blob.createSnapshot()).snapshot as string);
  for (const id of ids) assert.match(id, TIME_ID);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});

test('with versioning on, Snapshot Blob also creates a version', async (t) => {
  // Goal: §2 "Snapshot Blob: new version (created together with the snapshot; the response carries it)".
  const { srv, container } = await setup(t);
  await enableVersioning(srv);
  const blob = container.getBlockBlobClient('v.txt');
  const v1 = (await blob.upload('one', 3)).versionId as string;
  srv.clock.advance(seconds(1));
  const taken = await blob.createSnapshot();
  assert.match(taken.versionId ?? '', TIME_ID);
  assert.ok((taken.versionId as string) > (taken.snapshot as string) && (taken.snapshot as string) > v1);
  assert.deepEqual(await versionIdsOf(container, 'v.txt'), [v1, taken.versionId]);
  assert.equal((await blob.getProperties()).versionId, taken.versionId);
  assert.equal(await text(blob.withSnapshot(taken.snapshot as string).downloadToBuffer()), 'one');
});

test('deleting snapshots: one by time, only the snapshots, or the blob with its snapshots', async (t) => {
  // Goal: §12 rows. Method: a blob with three snapshots; each delete form in turn.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('d.txt');
  await blob.upload('base', 4);
  const s1 = (await blob.createSnapshot()).snapshot as string;
  const s2 = (await blob.createSnapshot()).snapshot as string;
  await blob.createSnapshot();

  await expectAzureError(blob.delete(), 409, 'SnapshotsPresent');
  await expectAzureError(blob.withSnapshot(s1).delete({ deleteSnapshots: 'include' }), 400, 'InvalidHeaderValue');
  await blob.withSnapshot(s1).delete();
  await expectAzureError(blob.withSnapshot(s1).getProperties(), 404);
  await expectAzureError(blob.withSnapshot(s1).delete(), 404, 'BlobNotFound');
  assert.equal(await text(blob.withSnapshot(s2).downloadToBuffer()), 'base');

  await blob.delete({ deleteSnapshots: 'only' });
  assert.deepEqual(await listRows(container, { includeSnapshots: true }), [{ name: 'd.txt', kind: 'base' }], 'only: the base stays');
  await blob.delete();
  assert.deepEqual(await listRows(container, { includeSnapshots: true }), [], 'no snapshots left: a plain delete works');

  await blob.upload('again', 5);
  await blob.createSnapshot();
  await blob.delete({ deleteSnapshots: 'include' });
  assert.deepEqual(await listRows(container, { includeSnapshots: true }), [], 'include: base and snapshots gone');
});

test('snapshots are read-only: writes addressed to a snapshot → 400 InvalidOperation', async (t) => {
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('ro.txt');
  await blob.upload('base', 4);
  const snapshot = blob.withSnapshot((await blob.createSnapshot()).snapshot as string);
  await expectAzureError(snapshot.setMetadata({ a: 'b' }), 400, 'InvalidOperation');
  await expectAzureError(snapshot.setHTTPHeaders({ blobContentType: 'x/y' }), 400, 'InvalidOperation');
  await expectAzureError(new BlockBlobClient(snapshot.url, srv.credential).upload('x', 1), 400, 'InvalidOperation');
  await expectAzureError(snapshot.createSnapshot(), 400, 'InvalidOperation');
  await expectAzureError(snapshot.getBlobLeaseClient().acquireLease(15), 400, 'InvalidOperation');
  await expectAzureError(snapshot.undelete(), 400, 'InvalidOperation');
  assert.equal(await text(snapshot.downloadToBuffer()), 'base');
});
