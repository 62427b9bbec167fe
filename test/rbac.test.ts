// RBAC on the blob endpoint: role assignments through @azure/arm-authorization, then real
// @azure/storage-blob calls with each principal's bearer token over HTTPS. Each boundary is checked
// both ways (allowed and refused). Rules: spec/versioning-softdelete.md §9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { DEV_PRINCIPAL } from '../src/arm/principals.js';
import { DEFAULT_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP } from '../src/accounts/model.js';
import { ACCOUNT_SCOPE, PRINCIPALS, ROLE, containerScope, startBearerServer } from './helpers/bearer.js';
import { expectAzureError } from './helpers/azure-assert.js';

test('role definitions and assignments over ARM: built-in roles, create/get/list/delete, validation, persistence', async () => {
  // Goal: the Microsoft.Authorization surface @azure/arm-authorization uses. Method: SDK calls, then a restart.
  const srv = await startBearerServer();
  let dataDir = srv.dataDir;
  try {
    const { authorization } = srv;
    // 1. built-in role definitions with Azure's ids and data actions
    const owner = await authorization.roleDefinitions.get(`/subscriptions/${DEFAULT_SUBSCRIPTION_ID}`, ROLE.owner);
    assert.equal(owner.roleName, 'Storage Blob Data Owner');
    assert.deepEqual(owner.permissions?.[0]?.dataActions, ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*']);
    const contributor = await authorization.roleDefinitions.getById(`/providers/Microsoft.Authorization/roleDefinitions/${ROLE.contributor}`);
    assert.ok(!contributor.permissions?.[0]?.dataActions?.some((a) => a.includes('deleteBlobVersion')));
    const named = [];
    for await (const role of authorization.roleDefinitions.list(ACCOUNT_SCOPE, { filter: "roleName eq 'Storage Blob Data Reader'" })) named.push(role);
    assert.deepEqual(named.map((r) => r.name), [ROLE.reader]);

    // 2. create at account scope, get, list (from below with atScope(), by principal)
    const name = await srv.assign(ACCOUNT_SCOPE, ROLE.reader, PRINCIPALS.reader);
    const got = await authorization.roleAssignments.get(ACCOUNT_SCOPE, name);
    assert.equal(got.principalId, PRINCIPALS.reader.clientId);
    assert.equal(got.scope, ACCOUNT_SCOPE);
    assert.match(got.roleDefinitionId ?? '', new RegExp(`${ROLE.reader}$`));
    const atContainer = [];
    for await (const a of authorization.roleAssignments.listForScope(containerScope('photos'), { filter: 'atScope()' })) atContainer.push(a.name);
    assert.deepEqual(atContainer, [name]);
    const byPrincipal = [];
    for await (const a of authorization.roleAssignments.listForSubscription({ filter: `principalId eq '${PRINCIPALS.owner.clientId}'` })) byPrincipal.push(a.name);
    assert.deepEqual(byPrincipal, []);

    // 3. refusals: same (principal, role, scope) under another name; names that are not GUIDs; unknown roles
    await expectAzureError(srv.assign(ACCOUNT_SCOPE, ROLE.reader, PRINCIPALS.reader), 409, 'RoleAssignmentExists');
    await expectAzureError(authorization.roleAssignments.create(ACCOUNT_SCOPE, 'not-a-guid', {
      roleDefinitionId: ROLE.reader, principalId: PRINCIPALS.reader.clientId,
    }), 400, 'InvalidRoleAssignmentId');
    await expectAzureError(authorization.roleAssignments.create(ACCOUNT_SCOPE, 'bbbbbbbb-0000-4000-8000-000000000001', {
      roleDefinitionId: '/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7', principalId: PRINCIPALS.reader.clientId,
    }), 404, 'RoleDefinitionDoesNotExist');
    await expectAzureError(authorization.roleAssignments.get(`/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${DEFAULT_RESOURCE_GROUP}`, name), 404, 'RoleAssignmentNotFound');

    // 4. survives a restart; delete removes it
    await srv.nimbus.stop();
    const again = await startBearerServer(dataDir);
    dataDir = again.dataDir;
    try {
      assert.equal((await again.authorization.roleAssignments.get(ACCOUNT_SCOPE, name)).principalId, PRINCIPALS.reader.clientId);
      await again.authorization.roleAssignments.delete(ACCOUNT_SCOPE, name);
      await expectAzureError(again.authorization.roleAssignments.get(ACCOUNT_SCOPE, name), 404, 'RoleAssignmentNotFound');
    } finally {
      await again.nimbus.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('Reader reads and lists but cannot write or create containers; Contributor can', async () => {
  const srv = await startBearerServer();
  try {
    await srv.serviceClient.getContainerClient('docs').create();
    await srv.serviceClient.getContainerClient('docs').getBlockBlobClient('a.txt').upload('hello', 5);
    await srv.assign(ACCOUNT_SCOPE, ROLE.reader, PRINCIPALS.reader);
    await srv.assign(ACCOUNT_SCOPE, ROLE.contributor, PRINCIPALS.contributor);

    const reader = srv.blobClientFor(PRINCIPALS.reader).getContainerClient('docs');
    assert.equal((await reader.getBlockBlobClient('a.txt').downloadToBuffer()).toString(), 'hello');   // 1. read
    const names = [];
    for await (const blob of reader.listBlobsFlat()) names.push(blob.name);
    assert.deepEqual(names, ['a.txt']);                                                               // 2. list
    await expectAzureError(reader.getBlockBlobClient('b.txt').upload('x', 1), 403, 'AuthorizationPermissionMismatch');
    await expectAzureError(reader.getBlockBlobClient('a.txt').delete(), 403, 'AuthorizationPermissionMismatch');
    await expectAzureError(srv.blobClientFor(PRINCIPALS.reader).getContainerClient('new1').create(), 403, 'AuthorizationPermissionMismatch');

    const contributor = srv.blobClientFor(PRINCIPALS.contributor);
    await contributor.getContainerClient('new2').create();                                           // 3. write side
    await contributor.getContainerClient('docs').getBlockBlobClient('b.txt').upload('bee', 3);
    await contributor.getContainerClient('docs').getBlockBlobClient('b.txt').delete();

    // A principal with no assignment is refused even reads; the dev principal owns everything.
    await expectAzureError(srv.blobClientFor(PRINCIPALS.nobody).getContainerClient('docs').getBlockBlobClient('a.txt').download(), 403, 'AuthorizationPermissionMismatch');
    assert.equal((await srv.blobClientFor(DEV_PRINCIPAL).getContainerClient('docs').getBlockBlobClient('a.txt').downloadToBuffer()).toString(), 'hello');
  } finally {
    await srv.stop();
  }
});

test('deleting a version needs Owner (deleteBlobVersion/action); Contributor deletes only the current version', async () => {
  const srv = await startBearerServer();
  try {
    // Versioning on through the data plane's stored switch (same setting ARM blobServices writes).
    await srv.nimbus.api.setDataProtection('devstoreaccount1', { versioning: true });
    const admin = srv.serviceClient.getContainerClient('versions');
    await admin.create();
    const first = await admin.getBlockBlobClient('doc.txt').upload('v1', 2);
    await admin.getBlockBlobClient('doc.txt').upload('v2', 2);
    assert.ok(first.versionId);
    await srv.assign(containerScope('versions'), ROLE.contributor, PRINCIPALS.contributor);
    await srv.assign(containerScope('versions'), ROLE.owner, PRINCIPALS.owner);

    const asContributor = srv.blobClientFor(PRINCIPALS.contributor).getContainerClient('versions').getBlockBlobClient('doc.txt');
    await expectAzureError(asContributor.withVersion(first.versionId).delete(), 403, 'AuthorizationPermissionMismatch');   // 1. refused
    const asOwner = srv.blobClientFor(PRINCIPALS.owner).getContainerClient('versions').getBlockBlobClient('doc.txt');
    await asOwner.withVersion(first.versionId).delete();                                                                   // 2. allowed
    await asContributor.delete();                                                                                          // 3. plain delete
    const versions = [];
    for await (const item of admin.listBlobsFlat({ includeVersions: true })) versions.push(item.versionId);
    assert.equal(versions.includes(first.versionId), false);
  } finally {
    await srv.stop();
  }
});

test('a container-scope assignment does not leak to other containers; a resource-group assignment covers all', async () => {
  const srv = await startBearerServer();
  try {
    for (const name of ['photos', 'photos2', 'secrets']) {
      await srv.serviceClient.getContainerClient(name).create();
      await srv.serviceClient.getContainerClient(name).getBlockBlobClient('x').upload('x', 1);
    }
    await srv.assign(containerScope('photos'), ROLE.contributor, PRINCIPALS.contributor);
    const client = srv.blobClientFor(PRINCIPALS.contributor);
    await client.getContainerClient('photos').getBlockBlobClient('y').upload('y', 1);                                         // 1. inside
    await expectAzureError(client.getContainerClient('photos2').getBlockBlobClient('y').upload('y', 1), 403, 'AuthorizationPermissionMismatch');
    await expectAzureError(client.getContainerClient('secrets').getBlockBlobClient('x').download(), 403, 'AuthorizationPermissionMismatch');
    await expectAzureError(client.listContainers().next(), 403, 'AuthorizationPermissionMismatch');                           // 2. account-level

    await srv.assign(`/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${DEFAULT_RESOURCE_GROUP}`, ROLE.reader, PRINCIPALS.reader);
    const reader = srv.blobClientFor(PRINCIPALS.reader);
    assert.equal((await reader.getContainerClient('secrets').getBlockBlobClient('x').downloadToBuffer()).toString(), 'x');    // 3. from above
    const containers = [];
    for await (const c of reader.listContainers()) containers.push(c.name);
    assert.deepEqual(containers, ['photos', 'photos2', 'secrets']);
  } finally {
    await srv.stop();
  }
});
