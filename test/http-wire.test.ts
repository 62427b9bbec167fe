// The Blob REST adapter at the wire (src/blob/http, src/azure-wire/errors.ts).
// Goal: what the SDK never sends, or never shows, behaves as Azure does — malformed versions, unknown
// operations (501 naming them), wrong verbs, bad or missing credentials, error bodies and headers,
// host-style addressing, ranges and conditional reads. Method: a real Nimbus (startTestServer) and raw
// HTTP requests signed with our Shared Key signer; SDK calls where the SDK can express the request.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { signSharedKey, type SignableRequest } from '../src/azure-wire/shared-key.js';
import { AccountRegistry, DEV_ACCOUNT, DEV_ACCOUNT_KEY } from '../src/blob/service/accounts.js';
import type { BlobApi } from '../src/blob/service/api.js';
import { createBlobHandler } from '../src/blob/http/server.js';
import { ManualClock, minutes } from '../src/platform/clock.js';
import { createLogger } from '../src/platform/log.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError, patternBytes } from './helpers/azure-assert.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface WireResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface WireRequest {
  method: string;
  /** Path and query as sent, e.g. `/devstoreaccount1/c/b?comp=metadata`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sign with Shared Key (default true). */
  sign?: boolean;
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean;
  /** Overrides the Host header (host-style addressing). */
  host?: string;
  /** x-ms-date to sign with (default: the server clock's now). */
  dateMs?: number;
}

async function setup(t: TestContext): Promise<TestServer & { port: number; send: (r: WireRequest) => Promise<WireResponse> }> {
  const server = await startTestServer();
  t.after(() => server.stop());
  const port = Number(new URL(server.blobUrl).port);
  return { ...server, port, send: (r) => send(server, port, r) };
}

function send(server: TestServer, port: number, r: WireRequest): Promise<WireResponse> {
  const headers: Record<string, string> = {
    'x-ms-version': '2021-08-06',
    'x-ms-date': new Date(r.dateMs ?? server.clock.nowMs()).toUTCString(),
    ...r.headers,
  };
  if (r.body !== undefined && !r.chunked) headers['content-length'] = String(Buffer.byteLength(r.body));
  if (r.sign ?? true) headers.authorization = authorizationFor(r.method, r.path, headers);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: r.method, path: r.path, headers: { ...headers, host: r.host ?? `127.0.0.1:${port}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (r.chunked && r.body !== undefined) req.write(r.body);
    req.end(r.chunked ? undefined : r.body);
  });
}

function authorizationFor(method: string, pathAndQuery: string, headers: Record<string, string>): string {
  const url = new URL(pathAndQuery, 'http://signing.invalid');
  const rawPath = pathAndQuery.split('?')[0] ?? '/';
  const signable: SignableRequest = {
    method,
    rawPath,
    query: [...url.searchParams.entries()],
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
  return signSharedKey(signable, DEV_ACCOUNT, DEV_ACCOUNT_KEY);
}

function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

test('every response carries request id, version, Date, Server and the echoed client request id', async (t) => {
  const { send } = await setup(t);
  const ok = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list`, headers: { 'x-ms-client-request-id': 'trace-42' } });
  assert.equal(ok.status, 200);
  assert.match(String(ok.headers['x-ms-request-id']), GUID);
  assert.equal(ok.headers['x-ms-version'], '2021-08-06');
  assert.equal(ok.headers['x-ms-client-request-id'], 'trace-42');
  assert.ok(ok.headers.server);
  assert.ok(!Number.isNaN(Date.parse(String(ok.headers.date))));
  assert.match(ok.body, /^<\?xml version="1.0" encoding="utf-8"\?><EnumerationResults ServiceEndpoint="http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/">/);

  // Errors carry them too, and the request id appears in the message.
  const missing = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/nope?restype=container`, headers: { 'x-ms-client-request-id': 'trace-43' } });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['x-ms-error-code'], 'ContainerNotFound');
  assert.equal(missing.headers['x-ms-client-request-id'], 'trace-43');
  assert.equal(missing.headers['content-type'], 'application/xml');
  assert.equal(errorCode(missing.body), 'ContainerNotFound');
  assert.ok(missing.body.includes(`RequestId:${String(missing.headers['x-ms-request-id'])}`));
  assert.match(missing.body, /Time:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z<\/Message>/);
});

test('malformed x-ms-version → 400 InvalidHeaderValue naming the header; the reply uses the newest version', async (t) => {
  const { send } = await setup(t);
  for (const version of ['banana', '2021-8-6', '1999-01-01']) {
    const response = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list`, headers: { 'x-ms-version': version } });
    assert.equal(response.status, 400, version);
    assert.equal(response.headers['x-ms-error-code'], 'InvalidHeaderValue');
    assert.ok(response.body.includes('<HeaderName>x-ms-version</HeaderName>'));
    assert.equal(response.headers['x-ms-version'], '2026-04-06');
  }
  // Newer than anything Nimbus knows is fine (the SDK sends such versions).
  const future = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list`, headers: { 'x-ms-version': '2099-01-01' } });
  assert.equal(future.status, 200);
  assert.equal(future.headers['x-ms-version'], '2099-01-01');
});

test('operations not built yet → 501 NotImplemented whose message names the operation', async (t) => {
  const { send, serviceClient } = await setup(t);
  await serviceClient.createContainer('wire');
  const cases: Array<[WireRequest, string]> = [
    [{ method: 'POST', path: `/${DEV_ACCOUNT}/wire/b?comp=query`, body: '<QueryRequest/>', headers: { 'content-type': 'application/xml' } }, 'Query Blob Contents'],
    [{ method: 'GET', path: `/${DEV_ACCOUNT}/wire/b?comp=tags` }, 'Get Blob Tags'],
    [{ method: 'GET', path: `/${DEV_ACCOUNT}/?restype=service&comp=stats` }, 'Get Blob Service Stats'],
  ];
  for (const [request, operation] of cases) {
    const response = await send(request);
    assert.equal(response.status, 501, operation);
    assert.equal(response.headers['x-ms-error-code'], 'NotImplemented', operation);
    assert.ok(response.body.includes(`Nimbus does not implement ${operation} yet.`), `${operation}: ${response.body}`);
  }
  // Request headers Nimbus cannot honour yet are refused the same way, never silently dropped.
  const tagged = await send({ method: 'PUT', path: `/${DEV_ACCOUNT}/wire/b`, body: 'x', headers: { 'x-ms-blob-type': 'BlockBlob', 'x-ms-tags': 'a=b', 'content-type': 'text/plain' } });
  assert.equal(tagged.status, 501);
  assert.ok(tagged.body.includes('x-ms-tags'));
});

test('unknown verbs → 405 UnsupportedHttpVerb; unknown comp → 400 InvalidQueryParameterValue', async (t) => {
  const { send } = await setup(t);
  const patch = await send({ method: 'PATCH', path: `/${DEV_ACCOUNT}/wire/b` });
  assert.equal(patch.status, 405);
  assert.equal(patch.headers['x-ms-error-code'], 'UnsupportedHttpVerb');
  const wrongVerb = await send({ method: 'DELETE', path: `/${DEV_ACCOUNT}/wire/b?comp=metadata` });
  assert.equal(wrongVerb.status, 405);
  const unknownComp = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/wire/b?comp=frobnicate` });
  assert.equal(unknownComp.status, 400);
  assert.equal(unknownComp.headers['x-ms-error-code'], 'InvalidQueryParameterValue');
  assert.ok(unknownComp.body.includes('<QueryParameterName>comp</QueryParameterName>'));
});

test('bad signature → 403 AuthenticationFailed with the server string-to-sign; skewed date → 403', async (t) => {
  const { send, clock } = await setup(t);
  const forged = await send({
    method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list`, sign: false,
    headers: { authorization: `SharedKey ${DEV_ACCOUNT}:${Buffer.alloc(32).toString('base64')}` },
  });
  assert.equal(forged.status, 403);
  assert.equal(forged.headers['x-ms-error-code'], 'AuthenticationFailed');
  assert.ok(forged.body.includes('<AuthenticationErrorDetail>'));
  assert.ok(forged.body.includes(`/${DEV_ACCOUNT}/${DEV_ACCOUNT}/\ncomp:list`), forged.body);

  const stale = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list`, dateMs: clock.nowMs() - minutes(16) });
  assert.equal(stale.status, 403);
  assert.equal(stale.headers['x-ms-error-code'], 'AuthenticationFailed');
  const skewedOk = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list`, dateMs: clock.nowMs() - minutes(14) });
  assert.equal(skewedOk.status, 200);

  const malformed = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list`, sign: false, headers: { authorization: 'SharedKey nonsense' } });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.headers['x-ms-error-code'], 'InvalidAuthenticationInfo');
});

test('no credentials: 401 for writes and account calls, 404 ResourceNotFound for reads of private data', async (t) => {
  const { send, serviceClient } = await setup(t);
  const container = serviceClient.getContainerClient('private');
  await container.create();
  await container.getBlockBlobClient('b').upload('hello', 5);
  const list = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list`, sign: false });
  assert.equal(list.status, 401);
  assert.equal(list.headers['x-ms-error-code'], 'NoAuthenticationInformation');
  const write = await send({ method: 'PUT', path: `/${DEV_ACCOUNT}/private/b2`, sign: false, body: 'x', headers: { 'x-ms-blob-type': 'BlockBlob' } });
  assert.equal(write.status, 401);
  const read = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/private/b`, sign: false });
  assert.equal(read.status, 404);
  assert.equal(read.headers['x-ms-error-code'], 'ResourceNotFound');
  const unknownAccount = await send({ method: 'GET', path: '/nosuchaccount/?comp=list' });
  assert.equal(unknownAccount.status, 404);
  assert.equal(unknownAccount.headers['x-ms-error-code'], 'ResourceNotFound');
});

test('HEAD errors carry x-ms-error-code and no body; 304 says ConditionNotMet without a body', async (t) => {
  const { send, serviceClient } = await setup(t);
  const container = serviceClient.getContainerClient('wire');
  await container.create();
  const head = await send({ method: 'HEAD', path: `/${DEV_ACCOUNT}/wire/missing` });
  assert.equal(head.status, 404);
  assert.equal(head.headers['x-ms-error-code'], 'BlobNotFound');
  assert.equal(head.body, '');

  const { etag } = await container.getBlockBlobClient('b').upload('hello', 5);
  const notModified = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/wire/b`, headers: { 'if-none-match': String(etag) } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.headers['x-ms-error-code'], 'ConditionNotMet');
  assert.equal(notModified.body, '');
  const failedWrite = await send({ method: 'PUT', path: `/${DEV_ACCOUNT}/wire/b?comp=metadata`, headers: { 'if-match': '"0x1"' } });
  assert.equal(failedWrite.status, 412);
  assert.equal(failedWrite.headers['x-ms-error-code'], 'ConditionNotMet');
});

test('ranges: 206 with Content-Range, range MD5 up to 4 MiB, 416 with the size', async (t) => {
  const { send, serviceClient } = await setup(t);
  const container = serviceClient.getContainerClient('wire');
  await container.create();
  const blob = container.getBlockBlobClient('b');
  const data = patternBytes(5 * 1024 * 1024);
  await blob.uploadData(data, { blobHTTPHeaders: { blobContentMD5: createHash('md5').update(data).digest() } });

  const ranged = await blob.download(10, 100, { rangeGetContentMD5: true });
  assert.equal(ranged.contentLength, 100);
  assert.equal(ranged.contentRange, `bytes 10-109/${data.length}`);
  assert.deepEqual(Buffer.from(ranged.contentMD5 ?? []), createHash('md5').update(data.subarray(10, 110)).digest());
  assert.deepEqual(Buffer.from(ranged.blobContentMD5 ?? []), createHash('md5').update(data).digest());

  await expectAzureError(blob.download(0, 4 * 1024 * 1024 + 1, { rangeGetContentMD5: true }), 400, 'OutOfRangeInput');
  const beyond = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/wire/b`, headers: { 'x-ms-range': `bytes=${data.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['x-ms-error-code'], 'InvalidRange');
  assert.equal(beyond.headers['content-range'], `bytes */${data.length}`);
  const garbled = await send({ method: 'GET', path: `/${DEV_ACCOUNT}/wire/b`, headers: { 'x-ms-range': 'bytes=x-y' } });
  assert.equal(garbled.status, 400);
  assert.equal(garbled.headers['x-ms-error-code'], 'InvalidHeaderValue');
});

test('request bodies: chunked Put Blob → 411, malformed block list → 400 InvalidXmlDocument', async (t) => {
  const { send, serviceClient } = await setup(t);
  await serviceClient.createContainer('wire');
  const chunked = await send({ method: 'PUT', path: `/${DEV_ACCOUNT}/wire/b`, chunked: true, body: 'hello', headers: { 'x-ms-blob-type': 'BlockBlob' } });
  assert.equal(chunked.status, 411);
  assert.equal(chunked.headers['x-ms-error-code'], 'MissingContentLengthHeader');
  const xml = await send({ method: 'PUT', path: `/${DEV_ACCOUNT}/wire/b?comp=blocklist`, body: '<BlockList><Latest>AA==</BlockList>', headers: { 'content-type': 'application/xml' } });
  assert.equal(xml.status, 400);
  assert.equal(xml.headers['x-ms-error-code'], 'InvalidXmlDocument');
  const noType = await send({ method: 'PUT', path: `/${DEV_ACCOUNT}/wire/b`, body: 'x', headers: { 'content-type': 'text/plain' } });
  assert.equal(noType.status, 400);
  assert.equal(noType.headers['x-ms-error-code'], 'MissingRequiredHeader');
});

test('host-style addressing: {account}.blob.localhost names the account', async (t) => {
  const { send, serviceClient, port } = await setup(t);
  await serviceClient.createContainer('hosted');
  await serviceClient.getContainerClient('hosted').getBlockBlobClient('dir/b.txt').upload('hi', 2);
  const host = `${DEV_ACCOUNT}.blob.localhost:${port}`;
  const blob = await send({ method: 'GET', path: '/hosted/dir/b.txt', host });
  assert.equal(blob.status, 200);
  assert.equal(blob.body, 'hi');
  const list = await send({ method: 'GET', path: '/hosted?restype=container&comp=list', host });
  assert.equal(list.status, 200);
  assert.ok(list.body.includes(`ServiceEndpoint="http://${host}/"`));
  assert.ok(list.body.includes('<Name>dir/b.txt</Name>'));
});

test('Get Account Information reports a StorageV2 Standard_LRS account at every level', async (t) => {
  const { serviceClient } = await setup(t);
  const container = serviceClient.getContainerClient('wire');
  await container.create();
  for (const info of [await serviceClient.getAccountInfo(), await container.getAccountInfo(), await container.getBlobClient('b').getAccountInfo()]) {
    assert.equal(info.skuName, 'Standard_LRS');
    assert.equal(info.accountKind, 'StorageV2');
    assert.equal(info.isHierarchicalNamespaceEnabled, false);
  }
});

test('a bug behind the adapter is a 500 InternalError logged with the request id; the server keeps serving', async (t) => {
  // Adapter-only: a stub BlobApi whose listContainers throws a plain Error, as a bug would.
  const lines: string[] = [];
  const logger = createLogger('warn', (line) => lines.push(line));
  const api = {
    listContainers: () => Promise.reject(new TypeError('boom')),
    publicAccessOf: () => Promise.resolve(null),
  } as unknown as BlobApi;
  const clock = new ManualClock();
  const accounts = new AccountRegistry([{ name: DEV_ACCOUNT, keys: [DEV_ACCOUNT_KEY] }]);
  const server = createServer(createBlobHandler({ api, accounts, clock, wallClock: clock, logger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const fake = { clock } as unknown as TestServer;
  for (let i = 0; i < 2; i++) {
    const response = await send(fake, port, { method: 'GET', path: `/${DEV_ACCOUNT}/?comp=list` });
    assert.equal(response.status, 500);
    assert.equal(response.headers['x-ms-error-code'], 'InternalError');
    assert.ok(!response.body.includes('boom'), 'internals stay out of the response');
    const requestId = String(response.headers['x-ms-request-id']);
    assert.ok(lines.some((line) => line.includes('"level":"error"') && line.includes(requestId) && line.includes('boom')));
  }
});
