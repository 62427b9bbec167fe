// Blob versioning through @azure/storage-blob against a real Nimbus with a manual clock:
// which writes create versions, version ids, addressing a version, delete without a version id,
// blobs written before versioning, turning versioning off, and listing/paging across versions.
// spec/versioning-softdelete.md §2–§4, spec/blob-rest.md §13; rules in src/blob/service/history.ts.
import { test, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { enableVersioning, listItems, listRows, text, versionIdsOf, TIME_ID, type Row } from './helpers/history.js';
import { seconds } from '../src/platform/clock.js';

async function setup(t: TestContext, versioning = true): Promise<{ srv: TestServer; container: ContainerClient }> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  if (versioning) await enableVersioning(srv);
  const container = srv.serviceClient.getContainerClient('versions');
  await container.create();
  return { srv, container };
}

const blockId = (n: number): string => Buffer.from(`block-${String(n).padStart(4, '0')}`).toString('base64');

test('Put Blob, Put Block List, copies, Put Blob From URL, Set Metadata and Snapshot each create a version', async (t) => {
  // Goal: every row of §2 marked "new version" returns x-ms-version-id, and the id it returns is
  // the new current version. Method: one write of each kind, one second apart, then list versions.
  const { srv, container } = await setup(t);
  const source = container.getBlockBlobClient('source.txt');
  await source.upload('source bytes', 12);
  const blob = container.getBlockBlobClient('doc.txt');
  const ids: string[] = [];
  const step = async (label: string, write: () => Promise<{ versionId?: string }>) => {
    srv.clock.advance(seconds(1));
    const { versionId } = await write();
    assert.ok(versionId !== undefined && TIME_ID.test(versionId), `${label}: x-ms-version-id ${String(versionId)}`);
    ids.push(versionId);
    const props = await blob.getProperties();
    assert.equal(props.versionId, versionId, `${label}: the returned id is the current version`);
    assert.equal(props.isCurrentVersion, true);
  };

  await step('Put Blob', () => blob.upload('v1', 2));
  await step('Put Block List', async () => {
    await blob.stageBlock(blockId(1), 'v2', 2);
    return blob.commitBlockList([blockId(1)]);
  });
  await step('Copy Blob From URL', () => blob.syncCopyFromURL(source.url));
  await step('Copy Blob', async () => (await blob.beginCopyFromURL(source.url, { intervalInMs: 0 })).pollUntilDone());
  await step('Put Blob From URL', () => blob.syncUploadFromURL(source.url));
  await step('Set Blob Metadata', () => blob.setMetadata({ pass: 'six' }));
  await step('Snapshot Blob', async () => {
    const result = await blob.createSnapshot();
    assert.ok(result.snapshot !== undefined && TIME_ID.test(result.snapshot));
    return result;
  });

  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  assert.deepEqual([...ids].sort(), ids, 'ids increase with time');
  // Snapshot Blob keeps the pre-snapshot state as a version too, so that state appears once with
  // the id Set Metadata returned; the listing is exactly the ids the writes returned.
  assert.deepEqual(await versionIdsOf(container, 'doc.txt'), ids);
  assert.equal(await text(blob.withVersion(ids[0] as string).downloadToBuffer()), 'v1');
  assert.equal(await text(blob.withVersion(ids[1] as string).downloadToBuffer()), 'v2');
  assert.deepEqual((await blob.withVersion(ids[4] as string).getProperties()).metadata, {}, 'before Set Metadata');
  assert.deepEqual((await blob.withVersion(ids[5] as string).getProperties()).metadata, { pass: 'six' });
});

test('Put Block, Set Blob Properties and lease operations create no version', async (t) => {
  // Goal: the "no" rows of §2. Method: count versions and compare the current id around each call.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('quiet.txt');
  const { versionId } = await blob.upload('base', 4);
  srv.clock.advance(seconds(1));
  await blob.stageBlock(blockId(1), 'staged', 6);
  await blob.setHTTPHeaders({ blobContentType: 'text/plain' });
  const lease = blob.getBlobLeaseClient();
  await lease.acquireLease(30);
  await lease.renewLease();
  await lease.releaseLease();
  const props = await blob.getProperties();
  assert.equal(props.versionId, versionId);
  assert.equal(props.contentType, 'text/plain', 'Set Blob Properties changed the current version in place');
  assert.deepEqual(await versionIdsOf(container, 'quiet.txt'), [versionId]);
});

test('version ids are unique and increasing within one tick and when the clock steps back', async (t) => {
  // Goal: §2 "if two writes land in the same 100 ns tick, bump the later one", and ids never go
  // backwards. Method: writes without moving the clock, then set the clock one hour back.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('tick.txt');
  const start = Date.UTC(2024, 0, 1, 10, 20, 30, 123);
  srv.clock.set(start);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await blob.upload(`same tick ${i}`, 11)).versionId as string);
  assert.equal(ids[0], '2024-01-01T10:20:30.1230000Z', 'the id is the write time with 7 fraction digits');
  srv.clock.set(start - 3_600_000);
  ids.push((await blob.upload('an hour earlier', 15)).versionId as string);
  ids.push((await blob.setMetadata({ late: 'yes' })).versionId as string);
  ids.push((await blob.createSnapshot()).versionId as string);
  for (const id of ids) assert.match(id, TIME_ID);
  assert.equal(new Set(ids).size, ids.length, 'unique');
  assert.deepEqual([...ids].sort(), ids, 'increasing although the clock went back');
  assert.deepEqual(await versionIdsOf(container, 'tick.txt'), ids, 'no version was overwritten by a colliding id');
});

test('version and snapshot ids stay increasing when a restarted server\'s clock is behind', async (t) => {
  // Goal: ids are unique and increasing per blob even without the process-wide memory of the last
  // id (a restart) while the clock is an hour behind the ids already stored. Method: write with
  // one server, restart on the same data dir with the clock set back, snapshot and overwrite.
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-versions-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const start = Date.UTC(2300, 0, 1);
  const first = await startTestServer({ dataDir });
  first.clock.set(start);
  await enableVersioning(first);
  const container = first.serviceClient.getContainerClient('restart');
  await container.create();
  const v1 = (await container.getBlockBlobClient('r.txt').upload('one', 3)).versionId as string;
  await first.stop();

  const second = await startTestServer({ dataDir });
  t.after(() => second.stop());
  second.clock.set(start - 3_600_000);
  const blob = second.serviceClient.getContainerClient('restart').getBlockBlobClient('r.txt');
  const snap = await blob.createSnapshot();
  const v3 = (await blob.upload('three', 5)).versionId as string;
  const ids = [v1, snap.snapshot as string, snap.versionId as string, v3];
  assert.deepEqual([...ids].sort(), ids, `ids in write order: ${ids.join(', ')}`);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(await versionIdsOf(second.serviceClient.getContainerClient('restart'), 'r.txt'), [v1, snap.versionId, v3]);
});

test('a version can be read, inspected and deleted by id; writes addressed to it are refused', async (t) => {
  // Goal: §2 "versions are immutable" and §4 Delete Blob with versionid. Method: three versions,
  // then reads, writes and deletes through withVersion().
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('pinned.txt');
  const ids: string[] = [];
  for (const body of ['one', 'two', 'three']) {
    srv.clock.advance(seconds(1));
    ids.push((await blob.upload(body, body.length)).versionId as string);
  }
  const [v1, v2, v3] = ids as [string, string, string];
  const first = blob.withVersion(v1);
  assert.equal(await text(first.downloadToBuffer()), 'one');
  const firstProps = await first.getProperties();
  assert.equal(firstProps.versionId, v1);
  assert.equal(firstProps.isCurrentVersion, false);
  const currentProps = await blob.withVersion(v3).getProperties();
  assert.equal(currentProps.isCurrentVersion, true, 'the current version is addressable by its id');

  // Immutable: metadata, properties, content, snapshot and lease writes to a version → 400 InvalidOperation.
  await expectAzureError(first.setMetadata({ a: 'b' }), 400, 'InvalidOperation');
  await expectAzureError(first.setHTTPHeaders({ blobContentType: 'x/y' }), 400, 'InvalidOperation');
  await expectAzureError(new BlockBlobClient(first.url, srv.credential).upload('x', 1), 400, 'InvalidOperation');
  await expectAzureError(first.createSnapshot(), 400, 'InvalidOperation');
  await expectAzureError(first.getBlobLeaseClient().acquireLease(15), 400, 'InvalidOperation');
  await expectAzureError(blob.withVersion(v3).setMetadata({ a: 'b' }), 400, 'InvalidOperation');

  // The current version is deleted with a plain Delete Blob, never by id.
  await expectAzureError(blob.withVersion(v3).delete(), 403, 'OperationNotAllowedOnRootBlob');
  await first.delete();
  await expectAzureError(first.getProperties(), 404);
  await expectAzureError(first.downloadToBuffer(), 404, 'BlobNotFound');
  await expectAzureError(first.delete(), 404, 'BlobNotFound');
  assert.deepEqual(await versionIdsOf(container, 'pinned.txt'), [v2, v3]);
  assert.equal(await text(blob.downloadToBuffer()), 'three', 'the current blob is untouched');

  await expectAzureError(blob.withVersion('2001-01-01T00:00:00.0000000Z').getProperties(), 404);
  await expectAzureError(blob.withVersion('not-a-time').downloadToBuffer(), 400, 'InvalidQueryParameterValue');
  // Clients may trim trailing zeros of the fraction; the id still resolves.
  srv.clock.set(Date.UTC(2100, 5, 1, 0, 0, 0, 500));
  const round = (await blob.upload('round', 5)).versionId as string;
  assert.equal(round, '2100-06-01T00:00:00.5000000Z');
  await blob.upload('after', 5);
  assert.equal(await text(blob.withVersion('2100-06-01T00:00:00.5Z').downloadToBuffer()), 'round');
});

test('delete without a version id: the current version becomes a previous one and nothing is current', async (t) => {
  // Goal: §4 (versioning on, soft delete off). Method: delete, then read, list and write again.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('gone.txt');
  const v1 = (await blob.upload('one', 3)).versionId as string;
  srv.clock.advance(seconds(1));
  const v2 = (await blob.upload('two', 3)).versionId as string;
  await blob.delete();

  await expectAzureError(blob.getProperties(), 404);
  await expectAzureError(blob.downloadToBuffer(), 404, 'BlobNotFound');
  await expectAzureError(blob.delete(), 404, 'BlobNotFound');
  assert.deepEqual(await listRows(container, {}), [], 'the default listing shows no blob');
  assert.deepEqual(await listRows(container, { includeVersions: true }), [
    { name: 'gone.txt', kind: 'version', id: v1 },
    { name: 'gone.txt', kind: 'version', id: v2 },
  ]);
  assert.deepEqual(await listRows(container, { includeDeleted: true, includeSnapshots: true }), [], 'nothing was soft-deleted or snapshotted');
  // include=deletedwithversions flags the name whose current version is gone (HasVersionsOnly).
  const root = await listItems(container, { includeDeletedWithVersions: true });
  assert.deepEqual(root.map((i) => [i.name, i.hasVersionsOnly, i.versionId]), [['gone.txt', true, undefined]]);
  assert.equal(await text(blob.withVersion(v2).downloadToBuffer()), 'two');
  srv.clock.advance(seconds(1));
  const v3 = (await blob.upload('three', 5)).versionId as string;
  assert.ok(v3 > v2);
  assert.deepEqual(await versionIdsOf(container, 'gone.txt'), [v1, v2, v3], 'old versions untouched by the new write');
  assert.equal((await blob.getProperties()).isCurrentVersion, true);
  assert.deepEqual((await listItems(container, { includeDeletedWithVersions: true })).map((i) => i.hasVersionsOnly), [undefined]);
});

test('all versions of a name share one blob type', async (t) => {
  // Goal: a versioned block blob cannot be overwritten by a page blob until it and all its versions are gone.
  const { container } = await setup(t, true);
  const blob = container.getBlockBlobClient('typed.bin');
  const first = await blob.upload('block', 5);
  await blob.upload('block2', 6);
  await expectAzureError(container.getPageBlobClient('typed.bin').create(512), 409, 'InvalidBlobType');
  await blob.delete();
  await expectAzureError(container.getPageBlobClient('typed.bin').create(512), 409, 'InvalidBlobType');
  const versions: string[] = [];
  for await (const item of container.listBlobsFlat({ includeVersions: true })) if (item.versionId) versions.push(item.versionId);
  for (const id of versions) await blob.withVersion(id).delete();
  assert.ok(versions.includes(first.versionId ?? ''));
  await container.getPageBlobClient('typed.bin').create(512);
  assert.equal((await container.getPageBlobClient('typed.bin').getProperties()).blobType, 'PageBlob');
});

test('a blob written before versioning keeps its old state as a version whose id is its Last-Modified', async (t) => {
  // Goal: the [?] of §2 "blob written before versioning was enabled"; Nimbus's choice (history.ts):
  // the preserved version's id is the preserved state's Last-Modified. Method: write with
  // versioning off at a known time, turn versioning on, overwrite / set metadata / delete.
  const { srv, container } = await setup(t, false);
  srv.clock.set(Date.UTC(2024, 0, 1, 10, 20, 30, 123));
  const overwritten = container.getBlockBlobClient('overwritten.txt');
  const deleted = container.getBlockBlobClient('deleted.txt');
  const tagged = container.getBlockBlobClient('tagged.txt');
  for (const blob of [overwritten, deleted, tagged]) assert.equal((await blob.upload('old', 3)).versionId, undefined);
  assert.equal((await overwritten.getProperties()).versionId, undefined, 'no version id before versioning');
  assert.deepEqual(await listRows(container, { includeVersions: true }), [
    { name: 'deleted.txt', kind: 'base' }, { name: 'overwritten.txt', kind: 'base' }, { name: 'tagged.txt', kind: 'base' },
  ], 'listed without a version id');

  srv.clock.set(Date.UTC(2024, 0, 2));
  await enableVersioning(srv);
  const preserved = '2024-01-01T10:20:30.1230000Z';
  const now = (await overwritten.upload('new', 3)).versionId as string;
  assert.equal(now, '2024-01-02T00:00:00.0000000Z');
  assert.deepEqual(await versionIdsOf(container, 'overwritten.txt'), [preserved, now]);
  assert.equal(await text(overwritten.withVersion(preserved).downloadToBuffer()), 'old');

  const tagVersion = (await tagged.setMetadata({ k: 'v' })).versionId as string;
  assert.deepEqual(await versionIdsOf(container, 'tagged.txt'), [preserved, tagVersion]);

  await deleted.delete();
  assert.deepEqual(await listRows(container, { includeVersions: true, prefix: 'deleted' }), [{ name: 'deleted.txt', kind: 'version', id: preserved }]);
});

test('re-enabling versioning never lets a preserved Last-Modified id replace or precede an existing version', async (t) => {
  // Goal: the Last-Modified choice above must not collide with ids the name already has. Method:
  // versioning on → off → on with every write in the same millisecond, so the in-place blob's
  // Last-Modified equals the first version's id; then the same with the clock stepped back.
  const { srv, container } = await setup(t);
  srv.clock.set(Date.UTC(2200, 0, 1));
  const blob = container.getBlockBlobClient('flip.txt');
  const v1 = (await blob.upload('a', 1)).versionId as string;
  await enableVersioning(srv, false);
  await blob.upload('b', 1); // keeps 'a' as a previous version; 'b' has no id, Last-Modified = v1's time
  await enableVersioning(srv);
  const v3 = (await blob.upload('c', 1)).versionId as string;
  const ids = await versionIdsOf(container, 'flip.txt');
  assert.equal(ids.length, 3, `three versions: ${ids.join(', ')}`);
  assert.equal(ids[0], v1);
  assert.equal(ids[2], v3);
  assert.deepEqual(await Promise.all(ids.map((id) => text(blob.withVersion(id).downloadToBuffer()))), ['a', 'b', 'c']);

  srv.clock.advance(-3_600_000);
  await enableVersioning(srv, false);
  await blob.upload('d', 1);
  await blob.upload('e', 1); // in place, Last-Modified an hour before every existing version id
  await enableVersioning(srv);
  await blob.upload('f', 1);
  const later = await versionIdsOf(container, 'flip.txt');
  assert.deepEqual(await Promise.all(later.map((id) => text(blob.withVersion(id).downloadToBuffer()))), ['a', 'b', 'c', 'e', 'f'], 'versions stay in write order');
});

test('turning versioning off: versions stay; the first overwrite keeps the versioned current, later ones keep nothing', async (t) => {
  // Goal: §2 "Disabling versioning". Method: two versions, versioning off, then overwrite twice.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('off.txt');
  const v1 = (await blob.upload('one', 3)).versionId as string;
  srv.clock.advance(seconds(1));
  const v2 = (await blob.upload('two', 3)).versionId as string;
  await enableVersioning(srv, false);

  assert.equal(await text(blob.withVersion(v1).downloadToBuffer()), 'one', 'still readable');
  assert.deepEqual(await versionIdsOf(container, 'off.txt'), [v1, v2], 'still listed');
  assert.equal((await blob.getProperties()).versionId, v2, 'the current blob keeps its id until modified');

  srv.clock.advance(seconds(1));
  assert.equal((await blob.upload('three', 5)).versionId, undefined, 'no new version id');
  assert.deepEqual(await listRows(container), [
    { name: 'off.txt', kind: 'version', id: v1 },
    { name: 'off.txt', kind: 'version', id: v2 },
    { name: 'off.txt', kind: 'base' },
  ], 'the versioned current was kept as a previous version; the new current has no id');
  assert.equal((await blob.getProperties()).versionId, undefined);

  srv.clock.advance(seconds(1));
  await blob.upload('four', 4);
  await blob.setMetadata({ again: 'yes' });
  assert.deepEqual(await versionIdsOf(container, 'off.txt'), [v1, v2], 'later overwrites keep no history');
  assert.equal(await text(blob.downloadToBuffer()), 'four');

  await blob.withVersion(v1).delete();
  assert.deepEqual(await versionIdsOf(container, 'off.txt'), [v2], 'still deletable by id');
});

test('with versioning off, deleting a current blob that still has a version id follows the versioning-off rules', async (t) => {
  // Goal: pin history.ts's second choice: the versioned current is not kept as a version by a
  // delete after versioning was turned off (soft delete off → it is simply removed).
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('drop.txt');
  const v1 = (await blob.upload('one', 3)).versionId as string;
  srv.clock.advance(seconds(1));
  await blob.upload('two', 3);
  await enableVersioning(srv, false);
  await blob.delete();
  assert.deepEqual(await listRows(container), [{ name: 'drop.txt', kind: 'version', id: v1 }]);
});

test('a full listing orders snapshots, versions and the current version per name, with their fields', async (t) => {
  // Goal: §13 listing rules with include=versions,snapshots,deleted,metadata. Method: two names
  // with snapshots, versions, a soft-deleted version and metadata; check each row's fields.
  const { srv, container } = await setup(t);
  await srv.nimbus.api.setDataProtection('devstoreaccount1', { deleteRetention: { enabled: true, days: 5 } });
  const a = container.getBlockBlobClient('a.txt');
  const b = container.getBlockBlobClient('b.txt');
  const a1 = (await a.upload('a1', 2, { metadata: { rev: '1' } })).versionId as string;
  srv.clock.advance(seconds(1));
  const snap = await a.createSnapshot();
  srv.clock.advance(seconds(1));
  const a3 = (await a.setMetadata({ rev: '3' })).versionId as string;
  const b1 = (await b.upload('b1', 2)).versionId as string;
  srv.clock.advance(seconds(1));
  const b2 = (await b.upload('b2', 2)).versionId as string;
  await b.withVersion(b1).delete();
  srv.clock.advance(seconds(1));

  const items = await listItems(container, { includeVersions: true, includeSnapshots: true, includeDeleted: true, includeMetadata: true });
  const expected: Row[] = [
    { name: 'a.txt', kind: 'snapshot', id: snap.snapshot as string },
    { name: 'a.txt', kind: 'version', id: a1 },
    { name: 'a.txt', kind: 'version', id: snap.versionId as string },
    { name: 'a.txt', kind: 'current', id: a3 },
    { name: 'b.txt', kind: 'version', id: b1, deleted: true },
    { name: 'b.txt', kind: 'current', id: b2 },
  ];
  assert.deepEqual(items.map((i) => ({ name: i.name, kind: i.snapshot ? 'snapshot' : i.isCurrentVersion ? 'current' : 'version', id: i.snapshot ?? i.versionId, ...(i.deleted ? { deleted: true } : {}) })), expected);
  const [snapshot, , , current, deletedVersion] = items;
  assert.equal(snapshot?.versionId, undefined, 'a snapshot row carries no version id');
  assert.deepEqual(snapshot?.metadata, { rev: '1' });
  assert.deepEqual(current?.metadata, { rev: '3' });
  assert.equal(current?.isCurrentVersion, true);
  assert.equal(items[1]?.isCurrentVersion, undefined, 'IsCurrentVersion only on the current version');
  assert.equal(deletedVersion?.deleted, true);
  assert.equal(deletedVersion?.properties.remainingRetentionDays, 5);
  assert.ok(deletedVersion?.properties.deletedOn instanceof Date);
  for (const item of items.filter((i) => !i.deleted)) {
    assert.notEqual(item.deleted, true, 'live rows are not flagged deleted');
    assert.equal(item.properties.remainingRetentionDays, undefined);
  }

  // Each include alone shows only its own kind of history.
  assert.deepEqual((await listRows(container, {})).map((r) => [r.name, r.kind]), [['a.txt', 'current'], ['b.txt', 'current']], 'default: current only, with its VersionId');
  assert.deepEqual((await listRows(container, { includeSnapshots: true })).map((r) => r.kind), ['snapshot', 'current', 'current']);
  assert.deepEqual((await listRows(container, { includeVersions: true })).map((r) => r.id), [a1, snap.versionId, a3, b2], 'soft-deleted versions need include=deleted');
  assert.deepEqual((await listRows(container, { includeDeleted: true })).map((r) => r.kind), ['current', 'current'], 'include=deleted alone does not show versions');
});

test('paging with maxresults=2 across many versions and snapshots is exact', async (t) => {
  // Goal: markers encode (name, version/snapshot) positions: concatenated pages equal the full
  // listing with no duplicate and no gap. Method: 4 names × 6 versions, snapshots, a deleted
  // current (HasVersionsOnly root), then walk byPage({ maxPageSize: 2 }) with every include set.
  const { srv, container } = await setup(t);
  await srv.nimbus.api.setDataProtection('devstoreaccount1', { deleteRetention: { enabled: true, days: 3 } });
  for (const name of ['n1', 'n2', 'n3', 'n4']) {
    const blob = container.getBlockBlobClient(name);
    for (let i = 0; i < 6; i++) {
      await blob.upload(`${name}-${i}`, name.length + 2);
      if (i % 3 === 1) await blob.createSnapshot();
    }
  }
  await container.getBlockBlobClient('n2').delete({ deleteSnapshots: 'include' });
  const n3Versions = await versionIdsOf(container, 'n3');
  await container.getBlockBlobClient('n3').withVersion(n3Versions[1] as string).delete();

  for (const options of [
    { includeVersions: true },
    { includeVersions: true, includeSnapshots: true, includeDeleted: true },
    { includeVersions: true, includeSnapshots: true, includeDeleted: true, includeDeletedWithVersions: true },
    { includeSnapshots: true },
  ]) {
    const full = await listItems(container, options);
    const paged = [];
    let pages = 0;
    for await (const page of container.listBlobsFlat(options).byPage({ maxPageSize: 2 })) {
      assert.ok(page.segment.blobItems.length <= 2);
      paged.push(...page.segment.blobItems);
      pages++;
    }
    const key = (i: (typeof full)[number]) => `${i.name}|${i.snapshot ?? ''}|${i.versionId ?? ''}|${i.deleted ? 'D' : ''}|${i.hasVersionsOnly ? 'R' : ''}`;
    assert.deepEqual(paged.map(key), full.map(key), `pages equal the full listing for ${JSON.stringify(options)}`);
    assert.equal(new Set(full.map(key)).size, full.length, 'no duplicates');
    assert.ok(pages >= Math.ceil(full.length / 2));
    assert.ok(full.length > 8, 'the listing really spans many pages');
  }
});
