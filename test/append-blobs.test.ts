// Append blobs through the SDK's AppendBlobClient: appends, offsets and counts, conditions, seal,
// snapshots that do not change when the blob grows, and versions not created by appends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<TestServer> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  return srv;
}

test('append blocks: offsets, committed block count, conditions, seal', async (t) => {
  // Goal: each append lands at the end; appendpos/maxsize conditions and seal are enforced.
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('appends');
  await container.create();
  const log = container.getAppendBlobClient('app.log');
  await log.create();
  const first = await log.appendBlock('hello ', 6);
  assert.equal(first.blobAppendOffset, '0');
  const second = await log.appendBlock('world', 5);
  assert.equal(second.blobAppendOffset, '6');
  assert.equal(second.blobCommittedBlockCount, 2);
  assert.equal((await log.downloadToBuffer()).toString(), 'hello world');
  await expectAzureError(log.appendBlock('!', 1, { conditions: { appendPosition: 5 } }), 412, 'AppendPositionConditionNotMet');
  await expectAzureError(log.appendBlock('!!', 2, { conditions: { maxSize: 12 } }), 412, 'MaxBlobSizeConditionNotMet');
  await log.appendBlock('!', 1, { conditions: { appendPosition: 11, maxSize: 12 } });
  const props = await log.getProperties();
  assert.equal(props.blobType, 'AppendBlob');
  assert.equal(props.blobCommittedBlockCount, 3);
  await log.seal();
  assert.equal((await log.getProperties()).isSealed, true);
  await expectAzureError(log.appendBlock('x', 1), 409, 'BlobIsSealed');
});

test('a snapshot of an append blob stays as it was; appends create no versions', async (t) => {
  // Goal: copy-on-write of the shared block list; only Put Blob and metadata make versions.
  const srv = await setup(t);
  await srv.nimbus.api.setDataProtection(DEV_ACCOUNT, { versioning: true });
  const container = srv.serviceClient.getContainerClient('appsnap');
  await container.create();
  const log = container.getAppendBlobClient('app.log');
  await log.create();
  await log.appendBlock('one;', 4);
  const snap = await log.createSnapshot();
  await log.appendBlock('two;', 4);
  assert.equal((await log.withSnapshot(snap.snapshot ?? '').downloadToBuffer()).toString(), 'one;');
  assert.equal((await log.downloadToBuffer()).toString(), 'one;two;');
  const versions: string[] = [];
  for await (const item of container.listBlobsFlat({ includeVersions: true })) versions.push(item.versionId ?? '');
  assert.equal(versions.length, 2, 'create, and the snapshot (which also makes a version); the appends made none');
});
