// SAS authorization end to end: tokens made by the SDK's own generators, used by SDK clients
// against a real Nimbus. Each permission boundary is checked both ways (allowed and refused).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, BlobClient, BlobSASPermissions, BlobServiceClient,
  ContainerClient, ContainerSASPermissions, generateAccountSASQueryParameters, generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';

const HOUR_MS = 3_600_000;

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<TestServer> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  return srv;
}

function containerSas(srv: TestServer, container: string, permissions: string, expiresOn = new Date(srv.clock.nowMs() + HOUR_MS)): string {
  return generateBlobSASQueryParameters(
    { containerName: container, permissions: ContainerSASPermissions.parse(permissions), expiresOn },
    srv.credential,
  ).toString();
}

test('container SAS: r and l allow reads and listing; writes and deletes are refused with 403', async (t) => {
  // Goal: the permission letters of a container SAS gate each operation, both ways.
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('sasread');
  await container.create();
  await container.getBlockBlobClient('a.txt').upload('alpha', 5);
  const reader = new ContainerClient(`${container.url}?${containerSas(srv, 'sasread', 'rl')}`);
  assert.equal((await reader.getBlockBlobClient('a.txt').downloadToBuffer()).toString(), 'alpha');
  const names: string[] = [];
  for await (const blob of reader.listBlobsFlat()) names.push(blob.name);
  assert.deepEqual(names, ['a.txt']);
  await expectAzureError(reader.getBlockBlobClient('b.txt').upload('x', 1), 403, 'AuthorizationPermissionMismatch');
  await expectAzureError(reader.getBlockBlobClient('a.txt').delete(), 403, 'AuthorizationPermissionMismatch');

  const writer = new ContainerClient(`${container.url}?${containerSas(srv, 'sasread', 'cw')}`);
  await writer.getBlockBlobClient('b.txt').upload('beta', 4);
  await expectAzureError(writer.getBlockBlobClient('a.txt').download(), 403, 'AuthorizationPermissionMismatch');
});

test('SAS expiry and start follow the server clock; a tampered signature is refused', async (t) => {
  // Goal: time bounds are evaluated on the injected clock; any change to a signed field fails.
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('sastime');
  await container.create();
  await container.getBlockBlobClient('a.txt').upload('alpha', 5);
  const sas = containerSas(srv, 'sastime', 'r', new Date(srv.clock.nowMs() + HOUR_MS));
  const blob = new BlobClient(`${container.url}/a.txt?${sas}`);
  assert.equal((await blob.downloadToBuffer()).toString(), 'alpha');
  srv.clock.advance(2 * HOUR_MS);
  await expectAzureError(blob.downloadToBuffer(), 403, 'AuthenticationFailed');
  srv.clock.advance(-2 * HOUR_MS);
  const tampered = new BlobClient(`${container.url}/a.txt?${sas.replace('sp=r', 'sp=rwd')}`);
  await expectAzureError(tampered.delete(), 403, 'AuthenticationFailed');
});

test('blob SAS: d deletes the blob but not a version; x deletes a version', async (t) => {
  // Goal: deleting a version needs the delete-version permission `x` (spec §10.4).
  const srv = await setup(t);
  await srv.nimbus.api.setDataProtection(DEV_ACCOUNT, { versioning: true });
  const container = srv.serviceClient.getContainerClient('sasver');
  await container.create();
  const owner = container.getBlockBlobClient('v.txt');
  const first = await owner.upload('one', 3);
  await owner.upload('two', 3);
  const versionId = first.versionId ?? '';
  const sasFor = (permissions: string) => generateBlobSASQueryParameters(
    { containerName: 'sasver', blobName: 'v.txt', permissions: BlobSASPermissions.parse(permissions), expiresOn: new Date(srv.clock.nowMs() + HOUR_MS) },
    srv.credential,
  ).toString();
  const withD = new BlobClient(`${owner.url}?${sasFor('rd')}`);
  await expectAzureError(withD.withVersion(versionId).delete(), 403, 'AuthorizationPermissionMismatch');
  const withX = new BlobClient(`${owner.url}?${sasFor('rx')}`);
  await withX.withVersion(versionId).delete();
  await expectAzureError(owner.withVersion(versionId).getProperties(), 404);
  await expectAzureError(withX.delete(), 403, 'AuthorizationPermissionMismatch');
  await withD.delete();
});

test('account SAS: service and resource types gate service, container and object operations', async (t) => {
  // Goal: ss/srt/sp of an account SAS are enforced.
  const srv = await setup(t);
  const sasFor = (resourceTypes: string, permissions: string) => generateAccountSASQueryParameters(
    {
      expiresOn: new Date(srv.clock.nowMs() + HOUR_MS), services: AccountSASServices.parse('b').toString(),
      resourceTypes: AccountSASResourceTypes.parse(resourceTypes).toString(), permissions: AccountSASPermissions.parse(permissions),
    },
    srv.credential,
  ).toString();
  const full = new BlobServiceClient(`${srv.blobUrl}?${sasFor('sco', 'rwdlc')}`);
  await full.getContainerClient('acctsas').create();
  await full.getContainerClient('acctsas').getBlockBlobClient('a').upload('a', 1);
  const containersOnly = new BlobServiceClient(`${srv.blobUrl}?${sasFor('c', 'rwdlc')}`);
  await expectAzureError(containersOnly.getContainerClient('acctsas').getBlockBlobClient('a').download(), 403, 'AuthorizationResourceTypeMismatch');
  const readOnly = new BlobServiceClient(`${srv.blobUrl}?${sasFor('sco', 'rl')}`);
  await expectAzureError(readOnly.getContainerClient('acctsas2').create(), 403, 'AuthorizationPermissionMismatch');
  const names: string[] = [];
  for await (const c of readOnly.listContainers()) names.push(c.name);
  assert.ok(names.includes('acctsas'));
});

test('stored access policy: a SAS naming it takes permissions and expiry from the container ACL', async (t) => {
  // Goal: `si` resolves to the container's signed identifier; removing the policy revokes the SAS.
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('saspolicy');
  await container.create();
  await container.getBlockBlobClient('a.txt').upload('alpha', 5);
  await container.setAccessPolicy(undefined, [{ id: 'readers', accessPolicy: { permissions: 'r', expiresOn: new Date(srv.clock.nowMs() + HOUR_MS) } }]);
  const sas = generateBlobSASQueryParameters({ containerName: 'saspolicy', identifier: 'readers' }, srv.credential).toString();
  const blob = new BlobClient(`${container.url}/a.txt?${sas}`);
  assert.equal((await blob.downloadToBuffer()).toString(), 'alpha');
  await expectAzureError(blob.delete(), 403, 'AuthorizationPermissionMismatch');
  await container.setAccessPolicy(undefined, []);
  await expectAzureError(blob.downloadToBuffer(), 403, 'AuthenticationFailed');
});

test('copy source: a SAS on the source URL authorizes it; a source of another scope without one is refused', async (t) => {
  // Goal: a SAS-authorized request cannot copy from a blob it may not read.
  const srv = await setup(t);
  const container = srv.serviceClient.getContainerClient('sascopy');
  await container.create();
  const source = container.getBlockBlobClient('src.txt');
  await source.upload('source', 6);
  const targetSas = generateBlobSASQueryParameters(
    { containerName: 'sascopy', blobName: 'dst.txt', permissions: BlobSASPermissions.parse('rw'), expiresOn: new Date(srv.clock.nowMs() + HOUR_MS) },
    srv.credential,
  ).toString();
  const target = new BlobClient(`${container.url}/dst.txt?${targetSas}`).getBlockBlobClient();
  await expectAzureError(target.syncCopyFromURL(source.url), 403, 'CannotVerifyCopySource');
  const sourceSas = generateBlobSASQueryParameters(
    { containerName: 'sascopy', blobName: 'src.txt', permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(srv.clock.nowMs() + HOUR_MS) },
    srv.credential,
  ).toString();
  await target.syncCopyFromURL(`${source.url}?${sourceSas}`);
  assert.equal((await source.downloadToBuffer()).toString(), (await container.getBlockBlobClient('dst.txt').downloadToBuffer()).toString());
});
