// The management plane through the official SDKs (src/arm, src/accounts).
// Goal: @azure/identity + @azure/arm-resources + @azure/arm-storage work against Nimbus unchanged (only
// endpoint, authority host, scope and CA are set), accounts made through ARM work on the blob endpoint
// at once and survive restarts, and `blobServices/default` is the same setting the data plane reads.
// Method: a real Nimbus per test (startTestServer), SDK calls first; raw HTTPS only for what the SDKs
// never send (no token, no api-version).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { StorageManagementClient } from '@azure/arm-storage';
import { startTestServer, type TestServer } from './helpers/server.js';
import { armClients, armRequest, MANAGEMENT_SCOPE, type ArmClients } from './helpers/arm.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from '../src/accounts/model.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';

const STORAGE_V2 = { location: 'westus', sku: { name: 'Standard_LRS' }, kind: 'StorageV2' } as const;

async function setup(t: TestContext, overrides: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer & ArmClients> {
  const srv = await startTestServer(overrides);
  t.after(() => srv.stop());
  return { ...srv, ...armClients(srv) };
}

function blobClientFor(endpoint: string | undefined, account: string, key: string): BlobServiceClient {
  assert.ok(endpoint, 'account has a blob endpoint');
  return new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key), { retryOptions: { maxTries: 1 } });
}

async function keysOf(storage: StorageManagementClient, group: string, account: string): Promise<{ key1: string; key2: string }> {
  const { keys } = await storage.storageAccounts.listKeys(group, account);
  const key1 = keys?.find((k) => k.keyName === 'key1')?.value;
  const key2 = keys?.find((k) => k.keyName === 'key2')?.value;
  assert.ok(key1 && key2, 'both keys listed');
  return { key1, key2 };
}

test('an account created through ARM serves blobs with its keys; regenerating key1 retires only key1; delete removes it and its data', async (t) => {
  const { storage, resources, blobUrl } = await setup(t);
  await resources.resourceGroups.createOrUpdate('Photos-RG', { location: 'westus' });
  const created = await storage.storageAccounts.create('Photos-RG', 'photos1', STORAGE_V2);
  assert.equal(created.provisioningState, 'Succeeded');
  assert.equal(created.kind, 'StorageV2');
  assert.deepEqual(created.sku, { name: 'Standard_LRS', tier: 'Standard' });
  assert.equal(created.primaryEndpoints?.blob, `${new URL(blobUrl).origin}/photos1/`);
  assert.ok(created.creationTime instanceof Date);
  assert.equal(created.id, `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/Photos-RG/providers/Microsoft.Storage/storageAccounts/photos1`);

  // 1. Group names compare case-insensitively; the creation casing is echoed.
  const fetched = await storage.storageAccounts.getProperties('photos-rg', 'photos1');
  assert.equal(fetched.id, created.id);

  // 2. The keys work on the blob endpoint immediately.
  const { key1, key2 } = await keysOf(storage, 'Photos-RG', 'photos1');
  const withKey1 = blobClientFor(created.primaryEndpoints?.blob, 'photos1', key1);
  await withKey1.getContainerClient('cats').create();
  await withKey1.getContainerClient('cats').getBlockBlobClient('tom.txt').upload('meow', 4);
  const withKey2 = blobClientFor(created.primaryEndpoints?.blob, 'photos1', key2);
  const downloaded = await withKey2.getContainerClient('cats').getBlockBlobClient('tom.txt').downloadToBuffer();
  assert.equal(downloaded.toString(), 'meow');

  // 3. Regenerating key1: the old key1 is refused, key2 still works, the new key1 works.
  const regenerated = await storage.storageAccounts.regenerateKey('Photos-RG', 'photos1', { keyName: 'key1' });
  const newKey1 = regenerated.keys?.find((k) => k.keyName === 'key1')?.value;
  assert.ok(newKey1 && newKey1 !== key1);
  assert.equal(regenerated.keys?.find((k) => k.keyName === 'key2')?.value, key2);
  await expectAzureError(withKey1.getProperties(), 403, 'AuthenticationFailed');
  await withKey2.getProperties();
  await blobClientFor(created.primaryEndpoints?.blob, 'photos1', newKey1).getProperties();

  // 4. Listed by group and by subscription (with the built-in account).
  const inGroup: string[] = [];
  for await (const account of storage.storageAccounts.listByResourceGroup('Photos-RG')) inGroup.push(account.name ?? '');
  assert.deepEqual(inGroup, ['photos1']);
  const inSubscription: string[] = [];
  for await (const account of storage.storageAccounts.list()) inSubscription.push(account.name ?? '');
  assert.deepEqual(inSubscription.sort(), [DEV_ACCOUNT, 'photos1']);

  // 5. Delete: ARM forgets it, the blob endpoint answers 404, and a new account of that name starts empty,
  //    with default settings and no lifecycle policy.
  await storage.blobServices.setServiceProperties('Photos-RG', 'photos1', { isVersioningEnabled: true });
  await storage.managementPolicies.createOrUpdate('Photos-RG', 'photos1', 'default', {
    policy: { rules: [{ name: 'old', type: 'Lifecycle', definition: { filters: { blobTypes: ['blockBlob'] }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 1 } } } } }] },
  });
  await storage.storageAccounts.delete('Photos-RG', 'photos1');
  await expectAzureError(storage.storageAccounts.getProperties('Photos-RG', 'photos1'), 404, 'ResourceNotFound');
  await expectAzureError(withKey2.getProperties(), 404);
  await storage.storageAccounts.delete('Photos-RG', 'photos1'); // 204: deleting what is gone is fine
  const again = await storage.storageAccounts.create('Photos-RG', 'photos1', STORAGE_V2);
  const fresh = blobClientFor(again.primaryEndpoints?.blob, 'photos1', (await keysOf(storage, 'Photos-RG', 'photos1')).key1);
  const containers: string[] = [];
  for await (const container of fresh.listContainers()) containers.push(container.name);
  assert.deepEqual(containers, []);
  assert.equal((await storage.blobServices.getServiceProperties('Photos-RG', 'photos1')).isVersioningEnabled, false);
  await expectAzureError(storage.managementPolicies.get('Photos-RG', 'photos1', 'default'), 404);
});

test('accounts and resource groups made through ARM survive a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-arm-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await startTestServer({ dataDir });
  let key1: string;
  try {
    const firstClients = armClients(first);
    await firstClients.resources.resourceGroups.createOrUpdate('keep', { location: 'westus', tags: { team: 'photos' } });
    const created = await firstClients.storage.storageAccounts.create('keep', 'kept1', STORAGE_V2);
    key1 = (await keysOf(firstClients.storage, 'keep', 'kept1')).key1;
    await blobClientFor(created.primaryEndpoints?.blob, 'kept1', key1).getContainerClient('kept').create();
  } finally {
    await first.stop();
  }

  const second = await startTestServer({ dataDir });
  t.after(() => second.stop());
  const { storage, resources } = armClients(second);
  assert.deepEqual((await resources.resourceGroups.get('KEEP')).tags, { team: 'photos' });
  const account = await storage.storageAccounts.getProperties('keep', 'kept1');
  assert.equal((await keysOf(storage, 'keep', 'kept1')).key1, key1);
  assert.equal(await blobClientFor(account.primaryEndpoints?.blob, 'kept1', key1).getContainerClient('kept').exists(), true);
});

test('blobServices/default round-trips, and its deleteRetentionPolicy is the data plane\'s, both ways', async (t) => {
  const { storage, resources } = await setup(t);
  await resources.resourceGroups.createOrUpdate('rg', { location: 'westus' });
  const created = await storage.storageAccounts.create('rg', 'protect1', STORAGE_V2);
  const { key1 } = await keysOf(storage, 'rg', 'protect1');
  const dataPlane = blobClientFor(created.primaryEndpoints?.blob, 'protect1', key1);

  // 1. Defaults: everything off.
  const initial = await storage.blobServices.getServiceProperties('rg', 'protect1');
  assert.equal(initial.isVersioningEnabled, false);
  assert.equal(initial.deleteRetentionPolicy?.enabled, false);
  assert.equal(initial.containerDeleteRetentionPolicy?.enabled, false);

  // 2. ARM → ARM and ARM → data plane.
  const set = await storage.blobServices.setServiceProperties('rg', 'protect1', {
    isVersioningEnabled: true,
    deleteRetentionPolicy: { enabled: true, days: 5 },
    containerDeleteRetentionPolicy: { enabled: true, days: 3 },
  });
  assert.equal(set.isVersioningEnabled, true);
  assert.deepEqual(set.deleteRetentionPolicy, { enabled: true, days: 5, allowPermanentDelete: false });
  assert.equal(set.containerDeleteRetentionPolicy?.days, 3);
  const read = await storage.blobServices.getServiceProperties('rg', 'protect1');
  assert.equal(read.isVersioningEnabled, true);
  assert.equal(read.deleteRetentionPolicy?.days, 5);
  assert.equal(read.containerDeleteRetentionPolicy?.enabled, true);
  const dataPlaneRetention = (await dataPlane.getProperties()).deleteRetentionPolicy;
  assert.equal(dataPlaneRetention?.enabled, true);
  assert.equal(dataPlaneRetention?.days, 5);

  // 3. Data plane → ARM; the switches the data plane cannot see are untouched.
  await dataPlane.setProperties({ deleteRetentionPolicy: { enabled: true, days: 9 } });
  const afterDataPlane = await storage.blobServices.getServiceProperties('rg', 'protect1');
  assert.equal(afterDataPlane.deleteRetentionPolicy?.days, 9);
  assert.equal(afterDataPlane.isVersioningEnabled, true);
  assert.equal(afterDataPlane.containerDeleteRetentionPolicy?.days, 3);

  // 4. Only what is sent changes; turning a policy off needs no days.
  const off = await storage.blobServices.setServiceProperties('rg', 'protect1', { deleteRetentionPolicy: { enabled: false } });
  assert.equal(off.deleteRetentionPolicy?.enabled, false);
  assert.equal(off.isVersioningEnabled, true);
  assert.equal((await dataPlane.getProperties()).deleteRetentionPolicy?.enabled, false);

  // 5. Out-of-range days are 400 InvalidParameter, and change nothing.
  for (const days of [0, 366, 2.5]) {
    await expectAzureError(storage.blobServices.setServiceProperties('rg', 'protect1', { deleteRetentionPolicy: { enabled: true, days } }), 400, 'InvalidParameter');
  }
  await expectAzureError(storage.blobServices.setServiceProperties('rg', 'protect1', { containerDeleteRetentionPolicy: { enabled: true } }), 400, 'InvalidParameter');
  assert.equal((await storage.blobServices.getServiceProperties('rg', 'protect1')).deleteRetentionPolicy?.enabled, false);

  // 6. The development account is there too, in the default group, and listed as one blob service.
  await storage.blobServices.setServiceProperties(DEFAULT_RESOURCE_GROUP, DEV_ACCOUNT, { isVersioningEnabled: true });
  const services = [];
  for await (const service of storage.blobServices.list(DEFAULT_RESOURCE_GROUP, DEV_ACCOUNT)) services.push(service);
  assert.equal(services.length, 1);
  assert.equal(services[0]?.name, 'default');
  assert.equal(services[0]?.isVersioningEnabled, true);
});

test('ARM errors: api-version, tokens, names, duplicates, missing groups and built-ins', async (t) => {
  const srv = await setup(t);
  const { storage, resources, tokenCredential: credential, nimbus } = srv;
  const sub = DEFAULT_SUBSCRIPTION_ID;
  await resources.resourceGroups.createOrUpdate('rg', { location: 'westus' });
  await resources.resourceGroups.createOrUpdate('other', { location: 'westus' });
  await storage.storageAccounts.create('rg', 'taken1', STORAGE_V2);

  // 1. api-version: missing (raw) and malformed (SDK option).
  const missing = await armRequest(srv, 'GET', `/subscriptions/${sub}/resourcegroups/rg`, { token: nimbus.armDevToken });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error?.code, 'MissingApiVersionParameter');
  const badVersion = new StorageManagementClient(credential, sub, {
    endpoint: srv.armUrl, credentials: { scopes: [MANAGEMENT_SCOPE] }, tlsOptions: { ca: srv.armCaPem }, apiVersion: 'banana', retryOptions: { maxRetries: 0 },
  });
  await expectAzureError(badVersion.storageAccounts.getProperties('rg', 'taken1'), 400, 'InvalidApiVersionParameter');

  // 2. Tokens: none → 401 with a challenge; garbage → 401; another audience → 401; the dev token works.
  const anonymous = await armRequest(srv, 'GET', `/subscriptions/${sub}?api-version=2022-12-01`);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error?.code, 'AuthenticationFailed');
  assert.match(String(anonymous.headers['www-authenticate']), /^Bearer authorization_uri="https:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+", error="invalid_token"/);
  const garbage = await armRequest(srv, 'GET', `/subscriptions/${sub}?api-version=2022-12-01`, { token: 'a.b.c' });
  assert.equal(garbage.body.error?.code, 'InvalidAuthenticationToken');
  const storageToken = await credential.getToken('https://storage.azure.com/.default');
  const wrongAudience = await armRequest(srv, 'GET', `/subscriptions/${sub}?api-version=2022-12-01`, { token: storageToken?.token ?? '' });
  assert.equal(wrongAudience.status, 401);
  assert.equal(wrongAudience.body.error?.code, 'InvalidAuthenticationTokenAudience');
  const devToken = await armRequest(srv, 'GET', `/subscriptions/${sub}/resourcegroups/RG?api-version=2022-12-01`, { token: nimbus.armDevToken });
  assert.equal(devToken.status, 200);
  assert.equal(devToken.body.name, 'rg');

  // 3. Names and uniqueness.
  await expectAzureError(storage.storageAccounts.create('rg', 'Bad_Name', STORAGE_V2).pollUntilDone(), 400, 'AccountNameInvalid');
  await expectAzureError(storage.storageAccounts.create('other', 'taken1', STORAGE_V2).pollUntilDone(), 409, 'StorageAccountAlreadyTaken');
  await expectAzureError(storage.storageAccounts.create('other', DEV_ACCOUNT, STORAGE_V2).pollUntilDone(), 409, 'StorageAccountAlreadyTaken');
  assert.deepEqual(await storage.storageAccounts.checkNameAvailability({ name: 'taken1', type: 'Microsoft.Storage/storageAccounts' }), {
    nameAvailable: false, reason: 'AlreadyExists', message: 'The storage account named taken1 is already taken.',
  });
  assert.equal((await storage.storageAccounts.checkNameAvailability({ name: 'free1', type: 'Microsoft.Storage/storageAccounts' })).nameAvailable, true);
  assert.equal((await storage.storageAccounts.checkNameAvailability({ name: 'x', type: 'Microsoft.Storage/storageAccounts' })).reason, 'AccountNameInvalid');

  // 4. Missing things: group, account (also when it exists in another group), malformed subscription.
  await expectAzureError(storage.storageAccounts.create('nogroup', 'new1', STORAGE_V2).pollUntilDone(), 404, 'ResourceGroupNotFound');
  await expectAzureError(storage.storageAccounts.getProperties('rg', 'absent1'), 404, 'ResourceNotFound');
  await expectAzureError(storage.storageAccounts.getProperties('other', 'taken1'), 404, 'ResourceNotFound');
  await expectAzureError(resources.resourceGroups.get('nogroup'), 404, 'ResourceGroupNotFound');
  const malformed = await armRequest(srv, 'GET', '/subscriptions/not-a-guid?api-version=2022-12-01', { token: nimbus.armDevToken });
  assert.equal(malformed.body.error?.code, 'InvalidSubscriptionId');
  const unknownType = await armRequest(srv, 'GET', `/subscriptions/${sub}/providers/Microsoft.Nope/things?api-version=2022-12-01`, { token: nimbus.armDevToken });
  assert.equal(unknownType.status, 404);
  assert.equal(unknownType.body.error?.code, 'InvalidResourceType');

  // 5. Built-ins: devstoreaccount1's keys and existence come from configuration.
  await expectAzureError(storage.storageAccounts.delete(DEFAULT_RESOURCE_GROUP, DEV_ACCOUNT), 409, 'StorageAccountBuiltIn');
  await expectAzureError(storage.storageAccounts.regenerateKey(DEFAULT_RESOURCE_GROUP, DEV_ACCOUNT, { keyName: 'key1' }), 409, 'StorageAccountBuiltIn');
  await expectAzureError(resources.resourceGroups.beginDeleteAndWait(DEFAULT_RESOURCE_GROUP), 409, 'ResourceGroupBuiltIn');

  // 6. Deleting a group takes its accounts with it.
  await resources.resourceGroups.beginDeleteAndWait('rg');
  assert.equal((await storage.storageAccounts.checkNameAvailability({ name: 'taken1', type: 'Microsoft.Storage/storageAccounts' })).nameAvailable, true);
});

test('the token issuer refuses a wrong client secret the way Entra ID does', async (t) => {
  const srv = await setup(t);
  const { ClientSecretCredential } = await import('@azure/identity');
  const { DEV_PRINCIPAL } = await import('../src/arm/principals.js');
  const wrong = new ClientSecretCredential(DEV_PRINCIPAL.tenantId, DEV_PRINCIPAL.clientId, 'not-the-secret', {
    authorityHost: srv.armUrl, disableInstanceDiscovery: true, tlsOptions: { ca: srv.armCaPem },
  });
  await assert.rejects(wrong.getToken(MANAGEMENT_SCOPE), /AADSTS7000215/);
  const otherTenant = new ClientSecretCredential('11111111-1111-1111-1111-111111111111', DEV_PRINCIPAL.clientId, DEV_PRINCIPAL.clientSecret, {
    authorityHost: srv.armUrl, disableInstanceDiscovery: true, tlsOptions: { ca: srv.armCaPem },
  });
  await assert.rejects(otherTenant.getToken(MANAGEMENT_SCOPE), /AADSTS700016/);
});
