// Integration tests for account- and container-level operations, driven through @azure/storage-blob
// against a real Nimbus on a loopback socket: service properties, List Containers, Create / Get
// Properties / Metadata / ACL / Lease / Delete Container. spec/blob-rest.md §2, §6, §15, §16.
//
// Every test starts its own server (fresh data dir, ManualClock), so tests never share state and
// time moves only when a test says so.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { seconds } from '../src/platform/clock.js';

async function server(t: TestContext): Promise<TestServer> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  return srv;
}

async function newContainer(srv: TestServer, name: string): Promise<ContainerClient> {
  const container = srv.serviceClient.getContainerClient(name);
  await container.create();
  return container;
}

const LEASE_A = '11111111-1111-4111-8111-111111111111';
const LEASE_B = '22222222-2222-4222-8222-222222222222';

test('service properties: CORS and delete retention round-trip; a partial update keeps the rest', async (t) => {
  // Goal: Set Blob Service Properties stores what the SDK sends and Get returns it unchanged;
  // elements absent from a later PUT keep their value (spec §15).
  const srv = await server(t);
  const cors = [{
    allowedOrigins: 'https://app.example.com,https://admin.example.com',
    allowedMethods: 'GET,PUT,DELETE',
    allowedHeaders: 'x-ms-meta-*,content-type',
    exposedHeaders: 'x-ms-request-id',
    maxAgeInSeconds: 300,
  }];
  const set = await srv.serviceClient.setProperties({ cors, deleteRetentionPolicy: { enabled: true, days: 7 } });
  assert.equal(set._response.status, 202);

  const got = await srv.serviceClient.getProperties();
  assert.deepEqual(got.cors, cors);
  assert.equal(got.deleteRetentionPolicy?.enabled, true);
  assert.equal(got.deleteRetentionPolicy?.days, 7);

  await srv.serviceClient.setProperties({ deleteRetentionPolicy: { enabled: false } });
  const after = await srv.serviceClient.getProperties();
  assert.equal(after.deleteRetentionPolicy?.enabled, false);
  assert.deepEqual(after.cors, cors, 'CORS was not part of the second PUT, so it must be kept');
});

test('service properties: retention days outside 1..365 are rejected', async (t) => {
  // Goal: an enabled delete-retention policy needs Days in 1..365; the stored value is untouched.
  const srv = await server(t);
  await expectAzureError(srv.serviceClient.setProperties({ deleteRetentionPolicy: { enabled: true, days: 0 } }), 400);
  await expectAzureError(srv.serviceClient.setProperties({ deleteRetentionPolicy: { enabled: true, days: 366 } }), 400);
  const got = await srv.serviceClient.getProperties();
  assert.notEqual(got.deleteRetentionPolicy?.enabled, true);
});

test('list containers: prefix, maxresults paging with markers, metadata', async (t) => {
  // Goal: List Containers filters by prefix, pages by maxresults with an opaque marker that resumes
  // exactly after the last name returned, and includes metadata only when asked.
  const srv = await server(t);
  const wanted = ['photos-01', 'photos-02', 'photos-03', 'photos-04', 'photos-05', 'photos-06', 'photos-07'];
  for (const name of [...wanted, 'videos-01', 'apple-01']) await newContainer(srv, name);
  await srv.serviceClient.getContainerClient('photos-03').setMetadata({ owner: 'alice', Project: 'nimbus' });

  // 1. byPage follows NextMarker: 3 + 3 + 1, names in order, only the prefix.
  const pages: string[][] = [];
  for await (const page of srv.serviceClient.listContainers({ prefix: 'photos-' }).byPage({ maxPageSize: 3 })) {
    pages.push((page.containerItems ?? []).map((c) => c.name));
  }
  assert.deepEqual(pages, [wanted.slice(0, 3), wanted.slice(3, 6), wanted.slice(6)]);

  // 2. An explicit continuation token resumes after the first page.
  const first = await srv.serviceClient.listContainers({ prefix: 'photos-' }).byPage({ maxPageSize: 2 }).next();
  assert.equal(first.done, false);
  const token = first.value.continuationToken;
  assert.ok(token, 'a truncated page carries a NextMarker');
  const rest: string[] = [];
  for await (const page of srv.serviceClient.listContainers({ prefix: 'photos-' }).byPage({ continuationToken: token, maxPageSize: 10 })) {
    rest.push(...(page.containerItems ?? []).map((c) => c.name));
    assert.ok(!page.continuationToken, 'the last page has an empty NextMarker');
  }
  assert.deepEqual(rest, wanted.slice(2));

  // 3. Metadata only with include=metadata.
  const withMeta = new Map<string, Record<string, string> | undefined>();
  for await (const c of srv.serviceClient.listContainers({ prefix: 'photos-0', includeMetadata: true })) withMeta.set(c.name, c.metadata);
  assert.deepEqual(withMeta.get('photos-03'), { owner: 'alice', Project: 'nimbus' }, 'listing XML keeps the case names were written in');
  for await (const c of srv.serviceClient.listContainers({ prefix: 'photos-03' })) {
    assert.ok(c.metadata === undefined || Object.keys(c.metadata).length === 0, 'no metadata without include=metadata');
    assert.equal(c.properties.leaseState, 'available');
    assert.match(c.properties.etag, /^"0x[0-9A-F]+"$/);
  }

  // 4. All containers, no prefix: sorted, everything present.
  const all: string[] = [];
  for await (const c of srv.serviceClient.listContainers()) all.push(c.name);
  assert.deepEqual(all, ['apple-01', ...wanted, 'videos-01']);
});

test('create container: duplicate → 409 ContainerAlreadyExists, bad names → 400 InvalidResourceName', async (t) => {
  // Goal: create is not idempotent and names follow Azure's container naming rules (spec §1).
  const srv = await server(t);
  const container = srv.serviceClient.getContainerClient('dup-check');
  const created = await container.create({ metadata: { color: 'blue' } });
  assert.equal(created._response.status, 201);
  assert.match(created.etag ?? '', /^"0x[0-9A-F]+"$/);
  await expectAzureError(container.create(), 409, 'ContainerAlreadyExists');
  const again = await container.createIfNotExists();
  assert.equal(again.succeeded, false, 'createIfNotExists maps ContainerAlreadyExists to succeeded=false');

  for (const bad of ['UpperCase', 'ab', 'a--b', '-leading', 'trailing-', 'under_score', 'x'.repeat(64)]) {
    await expectAzureError(srv.serviceClient.getContainerClient(bad).create(), 400, 'InvalidResourceName');
  }
  // Boundary names are fine: 3 and 63 characters, digits first.
  await newContainer(srv, 'a1b');
  await newContainer(srv, '9' + 'z'.repeat(62));
});

test('get container properties: metadata, lease state, public access, etag and last-modified', async (t) => {
  // Goal: Get Container Properties reports what Create stored, and missing containers are 404.
  const srv = await server(t);
  const container = srv.serviceClient.getContainerClient('props');
  const created = await container.create({ metadata: { team: 'storage' }, access: 'blob' });
  const props = await container.getProperties();
  assert.equal(props.etag, created.etag);
  assert.equal(props.lastModified?.getTime(), created.lastModified?.getTime());
  assert.equal(Math.floor(srv.clock.nowMs() / 1000) * 1000, props.lastModified?.getTime(), 'Last-Modified comes from the server clock');
  assert.deepEqual(props.metadata, { team: 'storage' });
  assert.equal(props.blobPublicAccess, 'blob');
  assert.equal(props.leaseState, 'available');
  assert.equal(props.leaseStatus, 'unlocked');
  assert.equal(props.leaseDuration, undefined);

  assert.equal(await container.exists(), true);
  const missing = srv.serviceClient.getContainerClient('no-such-container');
  assert.equal(await missing.exists(), false);
  await expectAzureError(missing.getProperties(), 404, 'ContainerNotFound');
});

test('container metadata: replace, clear, ETag changes each time', async (t) => {
  // Goal: Set Container Metadata replaces the whole set (none → cleared) and bumps the ETag.
  const srv = await server(t);
  const container = await newContainer(srv, 'meta');
  const before = await container.getProperties();

  const set1 = await container.setMetadata({ a: '1', b: 'two' });
  assert.notEqual(set1.etag, before.etag);
  assert.deepEqual((await container.getProperties()).metadata, { a: '1', b: 'two' });

  const set2 = await container.setMetadata({ c: '3' });
  assert.notEqual(set2.etag, set1.etag);
  assert.deepEqual((await container.getProperties()).metadata, { c: '3' }, 'replaces, does not merge');

  await container.setMetadata();
  assert.deepEqual((await container.getProperties()).metadata, {});

  await expectAzureError(container.setMetadata({ 'bad-name': 'x' }), 400, 'InvalidMetadata');
  await expectAzureError(container.setMetadata({ big: 'x'.repeat(9 * 1024) }), 400, 'MetadataTooLarge');
  await expectAzureError(srv.serviceClient.getContainerClient('nope').setMetadata({ a: '1' }), 404, 'ContainerNotFound');
});

test('container ACL: stored access policies and public access round-trip', async (t) => {
  // Goal: Set Container ACL stores up to five signed identifiers and the public access level;
  // Get Container ACL returns them unchanged; an empty set clears both.
  const srv = await server(t);
  const container = await newContainer(srv, 'acl');
  const startsOn = new Date('2024-01-01T00:00:00Z');
  const expiresOn = new Date('2024-02-01T12:30:00Z');
  const identifiers = [
    { id: 'read-only', accessPolicy: { startsOn, expiresOn, permissions: 'rl' } },
    { id: 'writer', accessPolicy: { startsOn, expiresOn, permissions: 'rwdl' } },
  ];
  const set = await container.setAccessPolicy('container', identifiers);
  assert.equal(set._response.status, 200);

  const acl = await container.getAccessPolicy();
  assert.equal(acl.blobPublicAccess, 'container');
  assert.deepEqual(
    acl.signedIdentifiers.map((s) => ({ id: s.id, start: s.accessPolicy?.startsOn?.toISOString(), expiry: s.accessPolicy?.expiresOn?.toISOString(), perm: s.accessPolicy?.permissions })),
    [
      { id: 'read-only', start: startsOn.toISOString(), expiry: expiresOn.toISOString(), perm: 'rl' },
      { id: 'writer', start: startsOn.toISOString(), expiry: expiresOn.toISOString(), perm: 'rwdl' },
    ],
  );
  assert.equal((await container.getProperties()).blobPublicAccess, 'container');

  // Public access 'blob' → only the level changes.
  await container.setAccessPolicy('blob', identifiers);
  assert.equal((await container.getAccessPolicy()).blobPublicAccess, 'blob');

  // More than five identifiers is refused and changes nothing.
  const six = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}`, accessPolicy: { permissions: 'r' } }));
  await expectAzureError(container.setAccessPolicy(undefined, six), 400);
  assert.equal((await container.getAccessPolicy()).signedIdentifiers.length, 2);

  // No access level and no identifiers → private, empty.
  await container.setAccessPolicy();
  const cleared = await container.getAccessPolicy();
  assert.equal(cleared.blobPublicAccess, undefined);
  assert.deepEqual(cleared.signedIdentifiers, []);
});

test('public access: anonymous clients read blobs (blob) and list (container) only when allowed', async (t) => {
  // Goal: the public access level decides what an unauthenticated client may do (spec §4.3).
  const srv = await server(t);
  const container = await newContainer(srv, 'public');
  await container.getBlockBlobClient('hello.txt').upload('hello', 5);
  const anonymous = new BlobServiceClient(srv.blobUrl, undefined, { retryOptions: { maxTries: 1 } }).getContainerClient('public');

  // 1. Private: anonymous read fails (Azure hides existence: 404, some versions 401/403).
  const privateError = await expectAnyStatus(anonymous.getBlobClient('hello.txt').downloadToBuffer(), [401, 403, 404]);
  assert.ok(privateError);

  // 2. 'blob': anonymous blob reads work, listing does not.
  await container.setAccessPolicy('blob');
  assert.equal((await anonymous.getBlobClient('hello.txt').downloadToBuffer()).toString(), 'hello');
  await expectAnyStatus(listNames(anonymous), [401, 403, 404]);

  // 3. 'container': listing works too.
  await container.setAccessPolicy('container');
  assert.deepEqual(await listNames(anonymous), ['hello.txt']);

  // 4. Anonymous writes are never allowed.
  await expectAnyStatus(anonymous.getBlockBlobClient('evil.txt').upload('x', 1), [401, 403, 404]);
});

test('container lease: acquire, renew, change, release, break; lease-protected delete', async (t) => {
  // Goal: the container lease state machine (spec §16) and that delete/metadata writes need the id.
  const srv = await server(t);
  const container = await newContainer(srv, 'leased');
  const leaseA = container.getBlobLeaseClient(LEASE_A);

  const acquired = await leaseA.acquireLease(30);
  assert.equal(acquired._response.status, 201);
  assert.equal(acquired.leaseId, LEASE_A);
  let props = await container.getProperties();
  assert.equal(props.leaseState, 'leased');
  assert.equal(props.leaseStatus, 'locked');
  assert.equal(props.leaseDuration, 'fixed');

  // Another id cannot acquire; the holder may re-acquire with its own id.
  await expectAzureError(container.getBlobLeaseClient(LEASE_B).acquireLease(30), 409, 'LeaseAlreadyPresent');
  assert.equal((await container.getBlobLeaseClient(LEASE_A).acquireLease(30)).leaseId, LEASE_A);

  assert.equal((await leaseA.renewLease()).leaseId, LEASE_A);
  await expectAzureError(container.getBlobLeaseClient(LEASE_B).renewLease(), 409, 'LeaseIdMismatchWithLeaseOperation');

  // Writes: no id → LeaseIdMissing, wrong id → mismatch, right id → ok.
  await expectAzureError(container.delete(), 412, 'LeaseIdMissing');
  await expectAzureError(container.delete({ conditions: { leaseId: LEASE_B } }), 412, 'LeaseIdMismatchWithContainerOperation');
  await expectAzureError(container.setMetadata({ a: '1' }), 412, 'LeaseIdMissing');
  await container.setMetadata({ a: '1' }, { conditions: { leaseId: LEASE_A } });
  // Reads ignore the lease, but a wrong lease id on a read is refused.
  assert.deepEqual((await container.getProperties()).metadata, { a: '1' });
  // (ContainerClient.getProperties in SDK 12.32 never sends x-ms-lease-id: it spreads `conditions`
  // where the generated client expects `leaseAccessConditions`. getAccessPolicy sends it.)
  await expectAzureError(container.getAccessPolicy({ conditions: { leaseId: LEASE_B } }), 412, 'LeaseIdMismatchWithContainerOperation');
  await container.getAccessPolicy({ conditions: { leaseId: LEASE_A } });

  // Change A → B: B now holds it, A is rejected.
  const changed = await leaseA.changeLease(LEASE_B);
  assert.equal(changed.leaseId, LEASE_B);
  assert.equal(leaseA.leaseId, LEASE_B, 'the SDK lease client follows the change');
  await expectAzureError(container.getBlobLeaseClient(LEASE_A).releaseLease(), 409, 'LeaseIdMismatchWithLeaseOperation');

  const leaseB = container.getBlobLeaseClient(LEASE_B);
  assert.equal((await leaseB.releaseLease())._response.status, 200);
  props = await container.getProperties();
  assert.equal(props.leaseState, 'available');
  assert.equal(props.leaseStatus, 'unlocked');
  await expectAzureError(leaseB.renewLease(), 409, 'LeaseNotPresentWithLeaseOperation');
  await expectAzureError(container.setMetadata({}, { conditions: { leaseId: LEASE_B } }), 412, 'LeaseNotPresentWithContainerOperation');

  await expectAzureError(leaseB.breakLease(0), 409, 'LeaseNotPresentWithLeaseOperation');

  // Infinite lease, break immediately → broken; delete then needs no id.
  await leaseB.acquireLease(-1);
  assert.equal((await container.getProperties()).leaseDuration, 'infinite');
  const broken = await leaseB.breakLease(0);
  assert.equal(broken._response.status, 202);
  assert.equal(broken.leaseTime, 0);
  props = await container.getProperties();
  assert.equal(props.leaseState, 'broken');
  assert.equal(props.leaseStatus, 'unlocked');
  await expectAzureError(leaseB.renewLease(), 409, 'LeaseIsBrokenAndCannotBeRenewed');
  const deleted = await container.delete();
  assert.equal(deleted._response.status, 202);
});

test('container lease: break period and fixed-duration expiry follow the server clock', async (t) => {
  // Goal: breaking/broken and leased/expired transitions happen when the ManualClock passes them,
  // with no sleeping. A broken or expired lease can be acquired by anyone.
  const srv = await server(t);
  const container = await newContainer(srv, 'timed');
  const lease = container.getBlobLeaseClient(LEASE_A);

  // 1. Break with a 10 s period on an infinite lease.
  await lease.acquireLease(-1);
  const broken = await lease.breakLease(10);
  assert.equal(broken.leaseTime, 10);
  assert.equal((await container.getProperties()).leaseState, 'breaking');
  await expectAzureError(container.getBlobLeaseClient(LEASE_B).acquireLease(15), 409, 'LeaseIsBreakingAndCannotBeAcquired');
  await expectAzureError(container.setMetadata({}), 412, 'LeaseIdMissing');
  srv.clock.advance(seconds(9));
  assert.equal((await container.getProperties()).leaseState, 'breaking');
  srv.clock.advance(seconds(2));
  assert.equal((await container.getProperties()).leaseState, 'broken');
  await container.setMetadata({ free: 'yes' });

  // 2. A 15 s lease expires; then another id may acquire it.
  await container.getBlobLeaseClient(LEASE_B).acquireLease(15);
  srv.clock.advance(seconds(14));
  await expectAzureError(container.setMetadata({}), 412, 'LeaseIdMissing');
  srv.clock.advance(seconds(2));
  assert.equal((await container.getProperties()).leaseState, 'expired');
  assert.equal((await container.getProperties()).leaseStatus, 'unlocked');
  await container.setMetadata({ after: 'expiry' });
  assert.equal((await container.getBlobLeaseClient(LEASE_A).acquireLease(20)).leaseId, LEASE_A);

  // 3. Invalid durations are rejected.
  await container.getBlobLeaseClient(LEASE_A).releaseLease();
  await expectAzureError(container.getBlobLeaseClient(LEASE_A).acquireLease(10), 400, 'InvalidHeaderValue');
  await expectAzureError(container.getBlobLeaseClient(LEASE_A).acquireLease(61), 400, 'InvalidHeaderValue');
});

test('delete container: 202, then 404 for the container and its blobs', async (t) => {
  // Goal: Delete Container removes the container and everything in it.
  const srv = await server(t);
  const container = await newContainer(srv, 'doomed');
  await container.getBlockBlobClient('inside.txt').upload('data', 4);

  // Delete honours If-Modified-Since / If-Unmodified-Since (the only conditions it takes).
  const { lastModified } = await container.getProperties();
  assert.ok(lastModified);
  srv.clock.advance(seconds(5));
  await expectAzureError(container.delete({ conditions: { ifModifiedSince: lastModified } }), 412, 'ConditionNotMet');
  await expectAzureError(container.delete({ conditions: { ifUnmodifiedSince: new Date(lastModified.getTime() - seconds(1)) } }), 412, 'ConditionNotMet');
  assert.equal(await container.exists(), true);

  const deleted = await container.delete({ conditions: { ifUnmodifiedSince: lastModified } });
  assert.equal(deleted._response.status, 202);
  await expectAzureError(container.getProperties(), 404, 'ContainerNotFound');
  await expectAzureError(container.getBlobClient('inside.txt').getProperties(), 404);
  await expectAzureError(container.delete(), 404, 'ContainerNotFound');
  assert.equal((await container.deleteIfExists()).succeeded, false);
  const names: string[] = [];
  for await (const c of srv.serviceClient.listContainers()) names.push(c.name);
  assert.deepEqual(names, []);
});

async function listNames(container: ContainerClient): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  return names;
}

async function expectAnyStatus(action: Promise<unknown>, statuses: number[]): Promise<unknown> {
  try {
    await action;
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    assert.ok(status !== undefined && statuses.includes(status), `status ${String(status)} not in ${statuses.join('/')}`);
    return error;
  }
  assert.fail(`expected one of ${statuses.join('/')}, but the call succeeded`);
}
