// Shared Key signing and verification (src/azure-wire/shared-key.ts).
// Goal: byte-exact strings-to-sign against spec/blob-rest.md §4.1, every tolerated client quirk, and
// agreement with the real @azure/storage-blob signer (over a loopback HTTP server, no Azure needed).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import {
  compareHeaderNamesDotnet,
  computeSignature,
  parseAuthorizationHeader,
  signSharedKey,
  stringToSign,
  verifySharedKey,
  type SignableRequest,
} from '../src/azure-wire/shared-key.js';

const ACCOUNT = 'devstoreaccount1';
const KEY1 = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const KEY2 = Buffer.alloc(64, 7).toString('base64');
const DATE = 'Mon, 01 Jan 2024 00:00:00 GMT';
const keysFor = (account: string): readonly string[] | undefined => (account === ACCOUNT ? [KEY1, KEY2] : undefined);

// spec §4.1 vector 1
const putBlob: SignableRequest = {
  method: 'PUT',
  rawPath: '/devstoreaccount1/mycontainer/hello.txt',
  query: [],
  headers: {
    'content-length': '5',
    'content-type': 'text/plain',
    'x-ms-blob-type': 'BlockBlob',
    'x-ms-date': DATE,
    'x-ms-meta-owner': 'alice',
    'x-ms-version': '2021-08-06',
  },
};

// spec §4.1 vector 2
const listBlobs: SignableRequest = {
  method: 'GET',
  rawPath: '/devstoreaccount1/mycontainer',
  query: [['restype', 'container'], ['comp', 'list'], ['include', 'metadata,versions']],
  headers: { 'x-ms-date': DATE, 'x-ms-version': '2021-08-06' },
};

function withHeaders(request: SignableRequest, headers: Record<string, string | undefined>): SignableRequest {
  return { ...request, headers: { ...request.headers, ...headers } };
}

function authorization(scheme: string, signature: string): string {
  return `${scheme} ${ACCOUNT}:${signature}`;
}

test('spec vector 1 (Put Blob): exact string-to-sign and signature', () => {
  const expected = 'PUT\n\n\n5\n\ntext/plain\n\n\n\n\n\n\nx-ms-blob-type:BlockBlob\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n'
    + 'x-ms-meta-owner:alice\nx-ms-version:2021-08-06\n/devstoreaccount1/devstoreaccount1/mycontainer/hello.txt';
  assert.equal(stringToSign(putBlob, ACCOUNT), expected);
  assert.equal(computeSignature(expected, KEY1), 'GDwdOCMzPq7e+8zCH9y+IKxM3EtbW5RdovK5tn+4Azw=');
  assert.equal(signSharedKey(putBlob, ACCOUNT, KEY1), 'SharedKey devstoreaccount1:GDwdOCMzPq7e+8zCH9y+IKxM3EtbW5RdovK5tn+4Azw=');
  assert.deepEqual(verifySharedKey(putBlob, signSharedKey(putBlob, ACCOUNT, KEY1), keysFor, ACCOUNT), { ok: true });
});

test('spec vector 2 (List Blobs): query names sorted, values decoded', () => {
  const signed = stringToSign(listBlobs, ACCOUNT);
  assert.ok(signed.endsWith('\n/devstoreaccount1/devstoreaccount1/mycontainer\ncomp:list\ninclude:metadata,versions\nrestype:container'));
  assert.equal(computeSignature(signed, KEY1), 'RmFme9Z6K1FGLGdnwOIW2EeYPf4KHY5183f0gxoCBYU=');
  const header = authorization('SharedKey', 'RmFme9Z6K1FGLGdnwOIW2EeYPf4KHY5183f0gxoCBYU=');
  assert.deepEqual(verifySharedKey(listBlobs, header, keysFor, ACCOUNT), { ok: true });
});

test('canonicalization details: repeated and upper-case query names, raw path, empty x-ms values, zero length', () => {
  const request: SignableRequest = {
    method: 'delete',
    rawPath: '/devstoreaccount1/c/my%20blob%C3%BC.txt',
    query: [['Snapshot', '2024-01-01T00:00:00.0000000Z'], ['b', 'z y'], ['B', 'a,b']],
    headers: { 'content-length': '0', 'x-ms-meta-empty': '', 'x-ms-date': `  ${DATE}  `, 'x-ms-absent': undefined },
  };
  const expected = 'DELETE\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-meta-empty:\n'
    + '/devstoreaccount1/devstoreaccount1/c/my%20blob%C3%BC.txt\nb:a,b,z y\nsnapshot:2024-01-01T00:00:00.0000000Z';
  assert.equal(stringToSign(request, ACCOUNT), expected);
});

test('Shared Key Lite: short layout, resource keeps only ?comp=', () => {
  const request = withHeaders(
    { ...listBlobs, query: [['restype', 'container'], ['comp', 'metadata']] },
    { 'content-md5': 'bWQ1', 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-language': 'en' },
  );
  const expected = 'GET\nbWQ1\ntext/plain\n\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2021-08-06\n'
    + '/devstoreaccount1/devstoreaccount1/mycontainer?comp=metadata';
  assert.equal(stringToSign(request, ACCOUNT, 'SharedKeyLite'), expected);
  assert.equal(stringToSign({ ...request, query: [] }, ACCOUNT, 'SharedKeyLite'), expected.replace('?comp=metadata', ''));

  const liteSignature = computeSignature(expected, KEY1);
  assert.deepEqual(verifySharedKey(request, authorization('SharedKeyLite', liteSignature), keysFor, ACCOUNT), { ok: true });
  // The same signature under the full scheme is a different string-to-sign, so it must fail.
  const asFull = verifySharedKey(request, authorization('SharedKey', liteSignature), keysFor, ACCOUNT);
  assert.equal(asFull.ok, false);
});

test('either account key verifies (key1/key2 rotation); an unrelated key does not', () => {
  assert.deepEqual(verifySharedKey(putBlob, signSharedKey(putBlob, ACCOUNT, KEY2), keysFor, ACCOUNT), { ok: true });
  const stranger = signSharedKey(putBlob, ACCOUNT, Buffer.alloc(64, 9).toString('base64'));
  assert.equal(verifySharedKey(putBlob, stranger, keysFor, ACCOUNT).ok, false);
  assert.equal(verifySharedKey(putBlob, signSharedKey(putBlob, ACCOUNT, KEY2), () => [KEY1], ACCOUNT).ok, false);
});

test('.NET header order differs from ordinal for hyphens; verification accepts both', () => {
  // Goal: .NET ignores '-' at the first level, so x-ms-ab sorts before x-ms-a-b; ordinal is the reverse.
  const request = withHeaders(putBlob, { 'x-ms-meta-a-b': '1', 'x-ms-meta-ab': '2' });
  const dotnet = stringToSign(request, ACCOUNT, 'SharedKey', { headerOrder: 'dotnet' });
  const ordinal = stringToSign(request, ACCOUNT, 'SharedKey', { headerOrder: 'ordinal' });
  assert.ok(dotnet.includes('x-ms-meta-ab:2\nx-ms-meta-a-b:1\n'));
  assert.ok(ordinal.includes('x-ms-meta-a-b:1\nx-ms-meta-ab:2\n'));
  assert.equal(stringToSign(request, ACCOUNT), dotnet, 'dotnet is the default');

  assert.deepEqual(verifySharedKey(request, authorization('SharedKey', computeSignature(dotnet, KEY1)), keysFor, ACCOUNT), { ok: true });
  assert.deepEqual(verifySharedKey(request, authorization('SharedKey', computeSignature(ordinal, KEY2)), keysFor, ACCOUNT), { ok: true });
  const liteOrdinal = stringToSign(request, ACCOUNT, 'SharedKeyLite', { headerOrder: 'ordinal' });
  assert.deepEqual(verifySharedKey(request, authorization('SharedKeyLite', computeSignature(liteOrdinal, KEY1)), keysFor, ACCOUNT), { ok: true });
});

test('comparator: hand-picked .NET vs ordinal cases', () => {
  const sorted = (names: string[]): string[] => [...names].sort(compareHeaderNamesDotnet);
  assert.deepEqual(sorted(['x-ms-a-b', 'x-ms-ab']), ['x-ms-ab', 'x-ms-a-b']);
  assert.deepEqual(sorted(['x-ms-a1', 'x-ms-a_']), ['x-ms-a_', 'x-ms-a1']);  // '_' before digits in .NET
  assert.deepEqual(sorted(['x-ms-B', 'x-ms-a']), ['x-ms-a', 'x-ms-B']);      // case folded at level 1
  assert.deepEqual(sorted(['x-ms-A', 'x-ms-a']), ['x-ms-a', 'x-ms-A']);      // lower case first at level 2
  assert.deepEqual(sorted(['x-ms-version', 'x-ms-date', 'x-ms-blob-type']), ['x-ms-blob-type', 'x-ms-date', 'x-ms-version']);
  assert.equal(compareHeaderNamesDotnet('x-ms-a', 'x-ms-a'), 0);
});

test('comparator agrees with the SDK SharedKeyComparator on random header names', async (t) => {
  // Method: 20k random pairs over the HTTP token alphabet; seeded, so a failure replays.
  const sdkCompare = await loadSdkComparator();
  if (sdkCompare === undefined) return t.skip('@azure/storage-common SharedKeyComparator.js not found');
  const seed = 20240101;
  const random = seededRandom(seed);
  const alphabet = "abcxyzABZ0129-_.'!~+*^`|#$%&";
  const randomName = (): string =>
    Array.from({ length: 1 + Math.floor(random() * 6) }, () => alphabet[Math.floor(random() * alphabet.length)] ?? 'a').join('');
  for (let round = 0; round < 20_000; round++) {
    const a = randomName();
    const b = randomName();
    if (a === b) continue;
    assert.equal(Math.sign(compareHeaderNamesDotnet(a, b)), sdkCompare(a, b), `seed ${seed}: ${JSON.stringify([a, b])}`);
  }
});

test('JS SDK quirk: Content-Language signed before Content-Encoding is accepted for SharedKey', () => {
  const request = withHeaders(putBlob, { 'content-encoding': 'gzip', 'content-language': 'en-US' });
  const documented = stringToSign(request, ACCOUNT);
  const languageFirst = stringToSign(request, ACCOUNT, 'SharedKey', { contentHeaderOrder: 'languageFirst' });
  assert.ok(documented.startsWith('PUT\ngzip\nen-US\n5\n'));
  assert.ok(languageFirst.startsWith('PUT\nen-US\ngzip\n5\n'));
  assert.deepEqual(verifySharedKey(request, authorization('SharedKey', computeSignature(languageFirst, KEY1)), keysFor, ACCOUNT), { ok: true });

  // Combined with ordinal header order too.
  const both = withHeaders(request, { 'x-ms-meta-a-b': '1', 'x-ms-meta-ab': '2' });
  const bothQuirks = stringToSign(both, ACCOUNT, 'SharedKey', { headerOrder: 'ordinal', contentHeaderOrder: 'languageFirst' });
  assert.deepEqual(verifySharedKey(both, authorization('SharedKey', computeSignature(bothQuirks, KEY2)), keysFor, ACCOUNT), { ok: true });
});

test('tampered signature or request fails with the server string-to-sign', () => {
  const good = signSharedKey(putBlob, ACCOUNT, KEY1);
  const flipped = good.slice(0, -2) + (good.at(-2) === 'A' ? 'B' : 'A') + '=';
  assert.deepEqual(verifySharedKey(putBlob, flipped, keysFor, ACCOUNT), {
    ok: false, reason: 'bad-signature', stringToSign: stringToSign(putBlob, ACCOUNT),
  });
  const tamperedRequest = withHeaders(putBlob, { 'x-ms-meta-owner': 'mallory' });
  const result = verifySharedKey(tamperedRequest, good, keysFor, ACCOUNT);
  assert.equal(result.ok, false);
  assert.ok(!result.ok && result.reason === 'bad-signature' && result.stringToSign?.includes('x-ms-meta-owner:mallory'));
  // A valid base64 string of another length must fail, not throw in timingSafeEqual.
  assert.equal(verifySharedKey(putBlob, authorization('SharedKey', 'AAAA'), keysFor, ACCOUNT).ok, false);
});

test('account checks: header account must be the addressed one; unknown accounts are reported', () => {
  const signedForOther = `SharedKey otheraccount:${computeSignature(stringToSign(putBlob, 'otheraccount'), KEY1)}`;
  const mismatch = verifySharedKey(putBlob, signedForOther, keysFor, ACCOUNT);
  assert.ok(!mismatch.ok && mismatch.reason === 'bad-signature');
  const ghost = `SharedKey ghost:${computeSignature(stringToSign(putBlob, 'ghost'), KEY1)}`;
  assert.deepEqual(verifySharedKey(putBlob, ghost, keysFor, 'ghost'), { ok: false, reason: 'unknown-account' });
});

test('parseAuthorizationHeader: the three schemes and malformed values', () => {
  assert.deepEqual(parseAuthorizationHeader('SharedKey acct:c2ln'), { scheme: 'SharedKey', accountName: 'acct', signature: 'c2ln' });
  assert.deepEqual(parseAuthorizationHeader('SharedKeyLite acct:c2lnbg=='), { scheme: 'SharedKeyLite', accountName: 'acct', signature: 'c2lnbg==' });
  assert.deepEqual(parseAuthorizationHeader('sharedkey acct:c2ln'), { scheme: 'SharedKey', accountName: 'acct', signature: 'c2ln' });
  assert.deepEqual(parseAuthorizationHeader('Bearer eyJ0eXAi.eyJhdWQi.c2ln'), { scheme: 'Bearer', token: 'eyJ0eXAi.eyJhdWQi.c2ln' });
  const malformed = [
    '', 'SharedKey', 'SharedKey ', 'SharedKey acct', 'SharedKey acct:', 'SharedKey :c2ln', 'SharedKey acct:c2ln extra',
    'SharedKey acct:sig!', 'SharedKey acct:c2ln===', 'Basic dXNlcjpwYXNz', 'SharedKeyacct:c2ln', 'Bearer', 'Bearer a b',
    'SharedKey acct:a:b', 'HasOwnProperty acct:c2ln', 'toString acct:c2ln',
  ];
  for (const value of malformed) {
    assert.equal(parseAuthorizationHeader(value), undefined, JSON.stringify(value));
    assert.deepEqual(verifySharedKey(putBlob, value, keysFor, ACCOUNT), { ok: false, reason: 'malformed' }, JSON.stringify(value));
  }
  // A bearer token is not a Shared Key; the caller routes it elsewhere before asking us.
  assert.deepEqual(verifySharedKey(putBlob, 'Bearer abc', keysFor, ACCOUNT), { ok: false, reason: 'malformed' });
});

test('@azure/storage-blob StorageSharedKeyCredential signatures verify, in .NET order on the first try', async () => {
  // Method: the real SDK talks to a loopback server that records each request as the adapter would
  // see it (raw path, decoded query, lower-case headers) and answers with an empty success.
  const seen: Array<{ request: SignableRequest; authorization: string }> = [];
  const server = createServer((incoming, response) => {
    seen.push({ request: toSignable(incoming), authorization: headerValue(incoming.headers.authorization) ?? '' });
    incoming.resume();
    incoming.on('end', () => {
      response.statusCode = successStatus(incoming.method ?? 'GET', incoming.url ?? '/');
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const service = new BlobServiceClient(`http://127.0.0.1:${port}/${ACCOUNT}`, new StorageSharedKeyCredential(ACCOUNT, KEY1), {
      retryOptions: { maxTries: 1 },
    });
    const container = service.getContainerClient('photos');
    await container.create();
    const blob = container.getBlockBlobClient('dir/my cat ü+1.txt');
    await blob.upload('meow!', 5, {
      metadata: { ab: '2', 'a-b': '1', a_c: '3', Zeta: '4' },
      blobHTTPHeaders: { blobContentLanguage: 'en', blobContentEncoding: 'gzip', blobContentType: 'text/plain' },
    });
    await blob.setMetadata({ owner: 'alice' });
    await blob.getProperties({ conditions: { ifMatch: '"0x8D"' } });
    await blob.delete({ deleteSnapshots: 'include' });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  assert.equal(seen.length, 5);
  for (const { request, authorization: header } of seen) {
    const label = `${request.method} ${request.rawPath}`;
    assert.deepEqual(verifySharedKey(request, header, keysFor, ACCOUNT), { ok: true }, label);
    assert.equal(signSharedKey(request, ACCOUNT, KEY1), header, `${label}: SDK uses our default layout`);
  }
  const upload = seen.find(({ request }) => request.headers['x-ms-blob-type'] === 'BlockBlob');
  assert.ok(upload !== undefined);
  assert.ok(upload.request.rawPath.includes('%20'), 'the blob name stays percent-encoded in the signed path');
  // The metadata names make .NET and ordinal order differ, so the exact match above proves .NET order.
  assert.notEqual(stringToSign(upload.request, ACCOUNT, 'SharedKey', { headerOrder: 'ordinal' }), stringToSign(upload.request, ACCOUNT));
});

function toSignable(incoming: IncomingMessage): SignableRequest {
  const url = incoming.url ?? '/';
  const queryStart = url.indexOf('?');
  const rawPath = queryStart === -1 ? url : url.slice(0, queryStart);
  const query = queryStart === -1 ? [] : [...new URLSearchParams(url.slice(queryStart + 1))];
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(incoming.headers)) headers[name] = headerValue(value);
  return { method: incoming.method ?? 'GET', rawPath, query, headers };
}

/** Create answers 201, delete 202, the rest (including Set Metadata, a PUT with comp=) 200. */
function successStatus(method: string, url: string): number {
  if (method === 'PUT' && !url.includes('comp=')) return 201;
  return method === 'DELETE' ? 202 : 200;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

type HeaderComparator = (a: string, b: string) => number;

/** The SDK does not export its comparator, so load the file next to its package.json if it is there. */
async function loadSdkComparator(): Promise<HeaderComparator | undefined> {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve('@azure/storage-common/package.json');
  } catch {
    return undefined;
  }
  const file = join(dirname(packageJson), 'dist', 'esm', 'utils', 'SharedKeyComparator.js');
  if (!existsSync(file)) return undefined;
  const loaded = (await import(pathToFileURL(file).href)) as { compareHeader?: HeaderComparator };
  return loaded.compareHeader;
}

/** mulberry32: small, seeded, good enough to pick characters. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
