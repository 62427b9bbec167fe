// Connection strings: the SDK builds its clients from them client-side, so what Nimbus must get
// right is the endpoint shape (path-style, http, 127.0.0.1:10000 for the emulator shorthand) and
// the development account's key. spec/blob-rest.md §1 "Development account".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';

const EMULATOR_URL = 'http://127.0.0.1:10000/devstoreaccount1';

test('fromConnectionString with the server connection string: full round trip', async (t) => {
  // Goal: a client built only from the connection string Nimbus prints can create, write, list and
  // read — i.e. the account name, key and BlobEndpoint in it are consistent with the server.
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const client = BlobServiceClient.fromConnectionString(srv.connectionString, { retryOptions: { maxTries: 1 } });
  assert.equal(client.accountName, DEV_ACCOUNT);
  assert.equal(stripSlash(client.url), stripSlash(srv.blobUrl));
  await roundTrip(client, 'from-conn-string');
});

test('UseDevelopmentStorage=true resolves to http://127.0.0.1:10000/devstoreaccount1', async (t) => {
  // Goal: the SDK expands the emulator shorthand client-side to path-style http on port 10000 with
  // the well-known key; when that port is free, a Nimbus listening there serves it end to end.
  const client = BlobServiceClient.fromConnectionString('UseDevelopmentStorage=true', { retryOptions: { maxTries: 1 } });
  assert.equal(stripSlash(client.url), EMULATOR_URL);
  assert.equal(client.accountName, DEV_ACCOUNT);

  if (!(await portIsFree(10000))) {
    t.skip('port 10000 is in use on 127.0.0.1 (another emulator?); only the URL resolution was checked');
    return;
  }
  let srv: TestServer;
  try {
    srv = await startTestServer({ blobPort: 10000 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    t.skip('port 10000 was taken between the check and the start; only the URL resolution was checked');
    return;
  }
  t.after(() => srv.stop());
  assert.equal(stripSlash(srv.blobUrl), EMULATOR_URL);
  await roundTrip(client, 'dev-storage');
});

async function roundTrip(client: BlobServiceClient, containerName: string): Promise<void> {
  const container = client.getContainerClient(containerName);
  await container.create();
  await container.getBlockBlobClient('hello.txt').upload('hello', 5);
  assert.equal((await container.getBlobClient('hello.txt').downloadToBuffer()).toString(), 'hello');
  const names: string[] = [];
  for await (const c of client.listContainers()) names.push(c.name);
  assert.ok(names.includes(containerName));
  const blobs: string[] = [];
  for await (const b of container.listBlobsFlat()) blobs.push(b.name);
  assert.deepEqual(blobs, ['hello.txt']);
  await container.delete();
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

