// Container soft delete through @azure/storage-blob against a real Nimbus with a manual clock:
// deleted containers in List Containers, Restore Container (same name, new name, conflicts),
// and purge after retention. spec/versioning-softdelete.md §6.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerItem } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { advanceDays, enableVersioning, listRows, text } from './helpers/history.js';
import { seconds } from '../src/platform/clock.js';

async function setup(t: TestContext, retentionDays = 7): Promise<TestServer> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  await srv.nimbus.api.setDataProtection('devstoreaccount1', { containerDeleteRetention: { enabled: true, days: retentionDays } });
  return srv;
}

async function listContainers(srv: TestServer, includeDeleted: boolean): Promise<ContainerItem[]> {
  const items: ContainerItem[] = [];
  for await (const item of srv.serviceClient.listContainers({ includeDeleted, includeMetadata: true })) items.push(item);
  return items;
}

test('a deleted container is listed with include=deleted and restored with all its blobs, versions and snapshots', async (t) => {
  // Goal: §6. Method: a container holding versions and a snapshot; delete; list; restore.
  const srv = await setup(t);
  await enableVersioning(srv);
  const container = srv.serviceClient.getContainerClient('albums');
  await container.create({ metadata: { owner: 'alice' } });
  const blob = container.getBlockBlobClient('cover.jpg');
  await blob.upload('one', 3);
  srv.clock.advance(seconds(1));
  await blob.upload('two', 3);
  await blob.createSnapshot();
  const before = await listRows(container);
  assert.equal(before.length, 4, 'two versions, a snapshot and the current version');

  await container.delete();
  await expectAzureError(container.getProperties(), 404);
  await expectAzureError(blob.downloadToBuffer(), 404, 'ContainerNotFound');
  assert.deepEqual((await listContainers(srv, false)).map((c) => c.name), [], 'hidden from the default listing');
  srv.clock.advance(seconds(3600));
  const [deleted] = await listContainers(srv, true);
  assert.equal(deleted?.name, 'albums');
  assert.equal(deleted?.deleted, true);
  assert.match(deleted?.version ?? '', /^[0-9A-F]{16}$/, 'a 16-hex-digit deleted-container version');
  assert.equal(deleted?.properties.remainingRetentionDays, 7);
  assert.ok(deleted?.properties.deletedOn instanceof Date);
  assert.deepEqual(deleted?.metadata, { owner: 'alice' });

  const { containerClient } = await srv.serviceClient.undeleteContainer('albums', deleted?.version as string);
  assert.equal(containerClient.containerName, 'albums');
  assert.deepEqual(await listRows(container), before, 'everything is back as it was');
  assert.equal(await text(blob.downloadToBuffer()), 'two');
  assert.deepEqual((await container.getProperties()).metadata, { owner: 'alice' });
  assert.deepEqual((await listContainers(srv, true)).map((c) => [c.name, c.deleted]), [['albums', undefined]]);
  await expectAzureError(srv.serviceClient.undeleteContainer('albums', deleted?.version as string), 404, 'ContainerNotFound');
});

test('restore refuses a live container of the same name (409) and names the right deletion by version', async (t) => {
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('logs');
  await container.create();
  await container.getBlockBlobClient('first.txt').upload('first', 5);
  await container.delete();
  const [first] = await listContainers(srv, true);

  await container.create(); // a live container may reuse the name of a deleted one
  await container.getBlockBlobClient('second.txt').upload('second', 6);
  await expectAzureError(srv.serviceClient.undeleteContainer('logs', first?.version as string), 409, 'ContainerAlreadyExists');

  srv.clock.advance(seconds(1));
  await container.delete();
  const deletions = await listContainers(srv, true);
  assert.equal(deletions.length, 2, 'two deletions of one name');
  assert.notEqual(deletions[0]?.version, deletions[1]?.version);
  await expectAzureError(srv.serviceClient.undeleteContainer('logs', '0000000000000000'), 404, 'ContainerNotFound');
  await srv.serviceClient.undeleteContainer('logs', first?.version as string);
  assert.deepEqual((await listRows(container)).map((r) => r.name), ['first.txt'], 'the deletion named by version came back');
});

test('restore under a new name (the deprecated destinationContainerName option)', async (t) => {
  // Nimbus keeps the early-preview behaviour: the URL names the container to create.
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('old-name');
  await container.create();
  await container.getBlockBlobClient('a.txt').upload('a', 1);
  await container.delete();
  const [deleted] = await listContainers(srv, true);
  await srv.serviceClient.getContainerClient('taken').create();
  await expectAzureError(srv.serviceClient.undeleteContainer('old-name', deleted?.version as string, { destinationContainerName: 'taken' }), 409, 'ContainerAlreadyExists');
  const { containerClient } = await srv.serviceClient.undeleteContainer('old-name', deleted?.version as string, { destinationContainerName: 'new-name' });
  assert.equal(containerClient.containerName, 'new-name');
  assert.equal(await text(containerClient.getBlockBlobClient('a.txt').downloadToBuffer()), 'a');
  await expectAzureError(container.getProperties(), 404);
});

test('a deleted container is purged when its retention ends; retention is fixed at delete time', async (t) => {
  const srv = await setup(t, 3);
  const keep = srv.serviceClient.getContainerClient('short');
  await keep.create();
  await keep.getBlockBlobClient('x.txt').upload('x', 1);
  await keep.delete();
  await srv.nimbus.api.setDataProtection('devstoreaccount1', { containerDeleteRetention: { enabled: true, days: 30 } });
  await advanceDays(srv, 2);
  assert.equal((await listContainers(srv, true))[0]?.properties.remainingRetentionDays, 1);
  await advanceDays(srv, 1);
  assert.deepEqual(await listContainers(srv, true), [], 'purged after the 3 days it was deleted with');
  await expectAzureError(srv.serviceClient.undeleteContainer('short', '0000000000000000'), 404, 'ContainerNotFound');
  // The name is free: a new container starts empty.
  await keep.create();
  assert.deepEqual(await listRows(keep), []);
});

test('with container soft delete off, Delete Container is permanent', async (t) => {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const container = srv.serviceClient.getContainerClient('gone');
  await container.create();
  await container.delete();
  assert.deepEqual(await listContainers(srv, true), []);
});
