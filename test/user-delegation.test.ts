// User delegation SAS (spec/versioning-softdelete.md §10.2, blob-rest.md §4.2): keys from Get User
// Delegation Key (bearer only, ≤ 7 days), SAS signed with them by the SDK, and the rule that such a SAS
// grants at most `sp` ∩ the signer's RBAC rights at request time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BlobClient, BlobSASPermissions, generateBlobSASQueryParameters, type StoragePipelineOptions, type UserDelegationKey,
} from '@azure/storage-blob';
import { DEV_ACCOUNT } from '../src/blob/service/accounts.js';
import { days, minutes } from '../src/platform/clock.js';
import { expectAzureError } from './helpers/azure-assert.js';
import { ACCOUNT_SCOPE, PRINCIPALS, ROLE, containerScope, startBearerServer, type BearerServer } from './helpers/bearer.js';

function sasBlob(srv: BearerServer, key: UserDelegationKey, blobName: string, permissions: string, edit?: (query: string) => string): BlobClient {
  const startsOn = new Date(srv.clock.nowMs() - minutes(1));
  const expiresOn = new Date(srv.clock.nowMs() + minutes(60));
  const query = generateBlobSASQueryParameters(
    { containerName: 'shared', blobName, permissions: BlobSASPermissions.parse(permissions), startsOn, expiresOn }, key, DEV_ACCOUNT,
  ).toString();
  const options: StoragePipelineOptions & { tlsOptions: { ca: string } } = { retryOptions: { maxTries: 1 }, tlsOptions: { ca: srv.armCaPem } };
  return new BlobClient(`${srv.httpsUrl}/shared/${blobName}?${edit ? edit(query) : query}`, undefined, options);
}

async function keyFor(srv: BearerServer, principal: (typeof PRINCIPALS)[keyof typeof PRINCIPALS]): Promise<UserDelegationKey> {
  const now = srv.clock.nowMs();
  return srv.blobClientFor(principal).getUserDelegationKey(new Date(now - minutes(1)), new Date(now + days(1)));
}

test('a user delegation SAS grants sp ∩ the signer\'s RBAC rights, checked at request time', async () => {
  const srv = await startBearerServer();
  try {
    await srv.serviceClient.getContainerClient('shared').create();
    await srv.serviceClient.getContainerClient('shared').getBlockBlobClient('a.txt').upload('hello', 5);
    // generateUserDelegationKey is checked at the account: a container-scope role cannot get a key.
    const readerAssignment = await srv.assign(ACCOUNT_SCOPE, ROLE.reader, PRINCIPALS.reader);
    await srv.assign(containerScope('shared'), ROLE.reader, PRINCIPALS.nobody);
    await expectAzureError(keyFor(srv, PRINCIPALS.nobody), 403, 'AuthorizationPermissionMismatch');
    await srv.assign(ACCOUNT_SCOPE, ROLE.contributor, PRINCIPALS.contributor);

    // Contributor's key: sp decides within the contributor's rights.
    const contributorKey = await keyFor(srv, PRINCIPALS.contributor);
    assert.equal(contributorKey.signedObjectId, PRINCIPALS.contributor.clientId);
    assert.equal((await sasBlob(srv, contributorKey, 'a.txt', 'r').downloadToBuffer()).toString(), 'hello'); // 1. sp=r read
    await expectAzureError(sasBlob(srv, contributorKey, 'b.txt', 'r').getBlockBlobClient().upload('b', 1), 403, 'AuthorizationPermissionMismatch'); // 2. sp lacks w
    await sasBlob(srv, contributorKey, 'b.txt', 'rwd').getBlockBlobClient().upload('b', 1);                    // 3. sp=w + RBAC write
    await sasBlob(srv, contributorKey, 'b.txt', 'rwd').delete();

    // Reader's key: sp=rw still cannot write, because the reader's role cannot.
    const readerKey = await keyFor(srv, PRINCIPALS.reader);
    const readerSas = sasBlob(srv, readerKey, 'a.txt', 'rw');
    assert.equal((await readerSas.downloadToBuffer()).toString(), 'hello');                                    // 4. read allowed
    await expectAzureError(readerSas.getBlockBlobClient().upload('x', 1), 403, 'AuthorizationPermissionMismatch'); // 5. RBAC refuses

    // Removing the role revokes SAS the reader already handed out.
    await srv.authorization.roleAssignments.delete(ACCOUNT_SCOPE, readerAssignment);
    await expectAzureError(readerSas.download(), 403, 'AuthorizationPermissionMismatch');                     // 6. revoked
  } finally {
    await srv.stop();
  }
});

test('expired, edited or Shared-Key-issued user delegation keys are refused', async () => {
  const srv = await startBearerServer();
  try {
    await srv.serviceClient.getContainerClient('shared').create();
    await srv.serviceClient.getContainerClient('shared').getBlockBlobClient('a.txt').upload('hello', 5);
    await srv.assign(ACCOUNT_SCOPE, ROLE.reader, PRINCIPALS.reader);
    await srv.assign(ACCOUNT_SCOPE, ROLE.owner, PRINCIPALS.owner);
    const key = await keyFor(srv, PRINCIPALS.reader);

    // 1. another principal's oid pasted into the SAS: the derived key differs, the signature fails.
    const edited = sasBlob(srv, key, 'a.txt', 'r', (q) => q.replace(PRINCIPALS.reader.clientId, PRINCIPALS.owner.clientId));
    await expectAzureError(edited.download(), 403, 'AuthenticationFailed');

    // 2. Get User Delegation Key: bearer only, expiry at most 7 days ahead.
    const now = srv.clock.nowMs();
    await expectAzureError(srv.serviceClient.getUserDelegationKey(new Date(now), new Date(now + days(1))), 403, 'AuthenticationFailed');
    await expectAzureError(srv.blobClientFor(PRINCIPALS.reader).getUserDelegationKey(new Date(now), new Date(now + days(8))), 400, 'InvalidXmlNodeValue');
    const nobody = srv.blobClientFor(PRINCIPALS.nobody);
    await expectAzureError(nobody.getUserDelegationKey(new Date(now), new Date(now + days(1))), 403, 'AuthorizationPermissionMismatch');

    // 3. a SAS made while the key was valid stops working once the key expires (ske = now + 1 day).
    const sas = sasBlob(srv, key, 'a.txt', 'r');
    assert.equal((await sas.downloadToBuffer()).toString(), 'hello');
    srv.clock.advance(days(1) + minutes(1));
    const later = sasBlob(srv, key, 'a.txt', 'r');                                                           // fresh se, old key
    await expectAzureError(later.download(), 403, 'AuthenticationFailed');
  } finally {
    await srv.stop();
  }
});
