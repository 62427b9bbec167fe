// Bearer tokens on the blob endpoint (spec/blob-rest.md §4.2): HTTPS only, storage audiences, 401 with
// a WWW-Authenticate challenge for missing/expired/forged/tampered/wrong-audience tokens, 403
// AuthorizationPermissionMismatch for a valid token without the role. Raw HTTPS for the tokens no SDK
// would send; the SDK path itself is covered in rbac.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { StorageSharedKeyCredential, BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from '../src/blob/service/accounts.js';
import { minutes } from '../src/platform/clock.js';
import { ACCOUNT_SCOPE, PRINCIPALS, ROLE, STORAGE_SCOPE, rawBlob, startBearerServer } from './helpers/bearer.js';
import { MANAGEMENT_SCOPE } from './helpers/arm.js';

const LIST = `/${DEV_ACCOUNT}/?comp=list`;

function assertChallenge(response: { status: number; headers: Record<string, unknown>; body: string }, detail: RegExp): void {
  assert.equal(response.status, 401, response.body);
  assert.equal(response.headers['x-ms-error-code'], 'InvalidAuthenticationInfo');
  assert.match(String(response.headers['www-authenticate']), /^Bearer authorization_uri=https:\/\/127\.0\.0\.1:\d+\/00000000-0000-0000-0000-000000000001\/oauth2\/authorize resource_id=https:\/\/storage\.azure\.com$/);
  assert.match(response.body, detail);
}

test('valid tokens pass; expired, forged, tampered, malformed and wrong-audience tokens get 401 with a challenge', async () => {
  // Goal: every way a token can be bad is refused with Azure's 401 form. Method: a real token from the
  // issuer, then edited copies; the manual clock ages the token.
  const srv = await startBearerServer();
  try {
    await srv.assign(ACCOUNT_SCOPE, ROLE.reader, PRINCIPALS.reader);
    const credential = srv.credentialFor(PRINCIPALS.reader);
    const token = (await credential.getToken(STORAGE_SCOPE))?.token ?? '';
    assert.equal((await rawBlob(srv, 'GET', LIST, { token })).status, 200);                                  // 1. valid

    const [head, body, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${head}.${Buffer.from(JSON.stringify({ ...claims, oid: PRINCIPALS.owner.clientId })).toString('base64url')}.${signature}`;
    assertChallenge(await rawBlob(srv, 'GET', LIST, { token: tampered }), /Signature validation failed/);     // 2. tampered

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forgedSignature = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), privateKey).toString('base64url');
    assertChallenge(await rawBlob(srv, 'GET', LIST, { token: `${head}.${body}.${forgedSignature}` }), /Signature validation failed/); // 3. forged
    assertChallenge(await rawBlob(srv, 'GET', LIST, { token: 'not-a-jwt' }), /not a well-formed JWT/);        // 4. malformed

    const managementToken = (await credential.getToken(MANAGEMENT_SCOPE))?.token ?? '';
    assertChallenge(await rawBlob(srv, 'GET', LIST, { token: managementToken }), /Audience validation failed/); // 5. wrong audience

    srv.clock.advance(minutes(120));
    assertChallenge(await rawBlob(srv, 'GET', LIST, { token }), /The token is expired/);                      // 6. expired
  } finally {
    await srv.stop();
  }
});

test('the account-specific audience is accepted; http, old versions and anonymous calls are refused', async () => {
  const srv = await startBearerServer();
  try {
    await srv.assign(ACCOUNT_SCOPE, ROLE.reader, PRINCIPALS.reader);
    const credential = srv.credentialFor(PRINCIPALS.reader);
    const accountToken = (await credential.getToken(`https://${DEV_ACCOUNT}.blob.core.windows.net/.default`))?.token ?? '';
    assert.equal((await rawBlob(srv, 'GET', LIST, { token: accountToken })).status, 200);                       // 1. account audience

    const overHttp = await rawBlob(srv, 'GET', LIST, { token: accountToken, http: true });                      // 2. plain http
    assert.equal(overHttp.status, 403);
    assert.match(overHttp.body, /HTTPS/);
    const oldVersion = await rawBlob(srv, 'GET', LIST, { token: accountToken, headers: { 'x-ms-version': '2017-07-29' } });
    assert.equal(oldVersion.status, 403);                                                                        // 3. pre-2017-11-09
    assert.match(oldVersion.body, /Bearer is not supported in this version/);

    const anonymous = await rawBlob(srv, 'GET', LIST);                                                           // 4. no credentials
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['x-ms-error-code'], 'NoAuthenticationInformation');
    assert.match(String(anonymous.headers['www-authenticate']), /authorization_uri=.* resource_id=https:\/\/storage\.azure\.com/);

    const nobodyToken = (await srv.credentialFor(PRINCIPALS.nobody).getToken(STORAGE_SCOPE))?.token ?? '';
    const denied = await rawBlob(srv, 'GET', LIST, { token: nobodyToken });                                      // 5. valid, no role
    assert.equal(denied.status, 403);
    assert.equal(denied.headers['x-ms-error-code'], 'AuthorizationPermissionMismatch');
  } finally {
    await srv.stop();
  }
});

test('the static development token owns everything; Shared Key works on the HTTPS port too', async () => {
  const srv = await startBearerServer();
  try {
    const created = await rawBlob(srv, 'PUT', `/${DEV_ACCOUNT}/devtoken?restype=container`, { token: srv.nimbus.armDevToken });
    assert.equal(created.status, 201, created.body);
    const options: StoragePipelineOptions & { tlsOptions: { ca: string } } = { retryOptions: { maxTries: 1 }, tlsOptions: { ca: srv.armCaPem } };
    const sharedKey = new BlobServiceClient(srv.httpsUrl, new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY), options);
    assert.equal((await sharedKey.getContainerClient('devtoken').exists()), true);
    const names = [];
    for await (const container of sharedKey.listContainers()) names.push(container.name);
    assert.deepEqual(names, ['devtoken']);
  } finally {
    await srv.stop();
  }
});
