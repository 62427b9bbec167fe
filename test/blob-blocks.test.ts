// Integration tests for block blobs through @azure/storage-blob against a real Nimbus: Put Blob,
// Put Block / Put Block List / Get Block List, Get Blob with ranges, Content-MD5, HTTP headers,
// metadata, delete, conditional requests, blob leases and the copy family.
// spec/blob-rest.md §3, §7–§10, §16.
//
// Every test starts its own server (fresh data dir, ManualClock). Time-dependent rules (lease
// expiry, If-Modified-Since) are driven by moving `srv.clock`; nothing sleeps.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import type { BlockBlobClient, BlockBlobUploadOptions, ContainerClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError, md5, patternBytes } from './helpers/azure-assert.js';
import { signSharedKey } from '../src/azure-wire/shared-key.js';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from '../src/blob/service/accounts.js';
import { seconds } from '../src/platform/clock.js';

const MiB = 1024 * 1024;
const LEASE_A = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const LEASE_B = 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const WRONG_ETAG = '"0x8D0000000000000"';

/** Block ids must all have the same length within a blob: fixed-width numbers, base64'd. */
const blockId = (n: number): string => Buffer.from(`block-${String(n).padStart(6, '0')}`).toString('base64');

interface Fixture {
  srv: TestServer;
  container: ContainerClient;
}

async function setup(t: TestContext, containerName = 'blocks'): Promise<Fixture> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const container = srv.serviceClient.getContainerClient(containerName);
  await container.create();
  return { srv, container };
}

async function download(blob: BlockBlobClient | ReturnType<ContainerClient['getBlobClient']>): Promise<Buffer> {
  return blob.downloadToBuffer();
}

test('upload and download a small blob with Put Blob', async (t) => {
  // Goal: the simplest round trip stores the bytes and the properties Azure reports for them.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('hello.txt');
  const put = await blob.upload('hello, nimbus', 13);
  assert.equal(put._response.status, 201);
  assert.match(put.etag ?? '', /^"0x[0-9A-F]+"$/);
  assert.deepEqual(Buffer.from(put.contentMD5 ?? []), md5('hello, nimbus'));

  assert.equal((await download(blob)).toString(), 'hello, nimbus');
  const props = await blob.getProperties();
  assert.equal(props.contentLength, 13);
  assert.equal(props.blobType, 'BlockBlob');
  assert.equal(props.etag, put.etag);
  assert.equal(props.contentType, 'application/octet-stream');
  assert.deepEqual(Buffer.from(props.contentMD5 ?? []), md5('hello, nimbus'), 'Put Blob stores the MD5 it computed');
  assert.equal(props.leaseState, 'available');

  // Put Blob stores its body as committed block(s) whose sizes add up to the blob.
  const list = await blob.getBlockList('all');
  assert.equal(list.committedBlocks?.reduce((sum, b) => sum + b.size, 0), 13);
  assert.deepEqual(list.uncommittedBlocks ?? [], []);

  // Put Blob over a name with staged blocks discards them.
  await blob.stageBlock(blockId(1), 'staged', 6);
  assert.equal((await blob.getBlockList('uncommitted')).uncommittedBlocks?.length, 1);
  await blob.upload('replaced', 8);
  assert.deepEqual((await blob.getBlockList('uncommitted')).uncommittedBlocks ?? [], []);
  await expectAzureError(blob.commitBlockList([blockId(1)]), 400, 'InvalidBlockList');

  // An empty blob is a blob too.
  const empty = container.getBlockBlobClient('empty');
  await empty.upload('', 0);
  assert.equal((await empty.getProperties()).contentLength, 0);
  assert.equal((await download(empty)).length, 0);
});

test('multi-MiB upload through uploadData: staged blocks and single shot', async (t) => {
  // Goal: the SDK's parallel block upload (Put Block ×N + Put Block List) and a single multi-MiB
  // Put Blob both store the exact bytes; the committed block list matches the SDK's blocks.
  const { container } = await setup(t);
  const data = patternBytes(5 * MiB + 123);

  const staged = container.getBlockBlobClient('big/staged.bin');
  await staged.uploadData(data, { blockSize: MiB, maxSingleShotSize: MiB, concurrency: 4 });
  const list = await staged.getBlockList('committed');
  assert.deepEqual(list.committedBlocks?.map((b) => b.size), [MiB, MiB, MiB, MiB, MiB, 123]);
  assert.equal(list.blobContentLength, data.length);
  assert.ok(md5(await download(staged)).equals(md5(data)), 'staged upload round-trips');

  const single = container.getBlockBlobClient('big/single.bin');
  await single.uploadData(data, { maxSingleShotSize: 8 * MiB });
  const props = await single.getProperties();
  assert.equal(props.contentLength, data.length);
  assert.deepEqual(Buffer.from(props.contentMD5 ?? []), md5(data));
  assert.ok(md5(await download(single)).equals(md5(data)), 'single-shot upload round-trips');

  // uploadStream: the SDK's streaming path (buffers from a stream, parallel Put Block).
  const streamed = container.getBlockBlobClient('big/streamed.bin');
  await streamed.uploadStream(Readable.from(chunksOf(data, 300_000)), MiB, 3);
  assert.ok(md5(await download(streamed)).equals(md5(data)), 'stream upload round-trips');

  // A range that spans block boundaries comes from the right blocks.
  const cross = await staged.downloadToBuffer(MiB - 10, 2 * MiB + 20);
  assert.ok(cross.equals(data.subarray(MiB - 10, 3 * MiB + 10)));
});

test('a large download the client abandons mid-stream leaves the server serving the blob byte-exactly', async (t) => {
  // Goal: the streamed GET (reused buffers, written as the socket drains) survives a client that goes
  // away, and the next readers see every byte. Method: SDK download, read a little, abort; then full
  // downloads, one of them concurrent with a second abandoned one.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('big.bin');
  const data = patternBytes(12 * MiB + 5);
  await blob.uploadData(data, { blockSize: 4 * MiB, concurrency: 3 });
  const abandon = async () => {
    const controller = new AbortController();
    const response = await blob.download(0, undefined, { abortSignal: controller.signal });
    const body = response.readableStreamBody;
    assert.ok(body);
    await new Promise<void>((resolve) => body.once('data', () => resolve()));
    controller.abort();
    body.on('error', () => undefined);
  };
  await abandon();
  assert.ok(md5(await download(blob)).equals(md5(data)), 'full download after an abandoned one');
  const [, again] = await Promise.all([abandon(), download(blob)]);
  assert.ok(md5(again).equals(md5(data)), 'full download beside an abandoned one');
});

test('stageBlock + commitBlockList: Latest, and get block list committed/uncommitted/all', async (t) => {
  // Goal: staged blocks are invisible until committed; commit order defines content; uncommitted
  // blocks are discarded by a commit; Get Block List reports each list with sizes.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('assembled.txt');
  await blob.stageBlock(blockId(1), 'AAAA', 4);
  await blob.stageBlock(blockId(2), 'BBBBBB', 6);
  await blob.stageBlock(blockId(3), 'CC', 2);

  // 1. Before any commit: only an uncommitted list, no readable blob.
  const pending = await blob.getBlockList('all');
  assert.deepEqual(pending.committedBlocks ?? [], []);
  assert.deepEqual(pending.uncommittedBlocks?.map((b) => [b.name, b.size]), [[blockId(1), 4], [blockId(2), 6], [blockId(3), 2]]);
  await expectAzureError(blob.getProperties(), 404, 'BlobNotFound');

  // 2. Commit a reordered subset (the SDK sends <Latest>).
  const committed = await blob.commitBlockList([blockId(3), blockId(1)]);
  assert.equal(committed._response.status, 201);
  assert.equal((await download(blob)).toString(), 'CCAAAA');
  const after = await blob.getBlockList('all');
  assert.deepEqual(after.committedBlocks?.map((b) => [b.name, b.size]), [[blockId(3), 2], [blockId(1), 4]]);
  assert.deepEqual(after.uncommittedBlocks ?? [], [], 'block 2 was discarded by the commit');

  // 3. Re-stage block 1 with new bytes: Latest prefers the uncommitted one; committed list unchanged until commit.
  await blob.stageBlock(blockId(1), 'aaaa', 4);
  assert.deepEqual((await blob.getBlockList('committed')).committedBlocks?.map((b) => b.name), [blockId(3), blockId(1)]);
  assert.deepEqual((await blob.getBlockList('uncommitted')).uncommittedBlocks?.map((b) => b.name), [blockId(1)]);
  assert.deepEqual((await blob.getBlockList('uncommitted')).committedBlocks ?? [], []);
  await blob.commitBlockList([blockId(1), blockId(3), blockId(1)]);
  assert.equal((await download(blob)).toString(), 'aaaaCCaaaa', 'Latest picks the newest staged bytes; ids may repeat');

  // 4. Put Block List sets properties and metadata wholesale: what it does not send is cleared.
  await blob.setMetadata({ keep: 'no' });
  await blob.setHTTPHeaders({ blobContentType: 'text/plain', blobCacheControl: 'no-cache' });
  await blob.commitBlockList([blockId(3)], { metadata: { fresh: 'yes' } });
  const props = await blob.getProperties();
  assert.deepEqual(props.metadata, { fresh: 'yes' });
  assert.equal(props.contentType, 'application/octet-stream');
  assert.equal(props.cacheControl, undefined);
  await blob.commitBlockList([blockId(3)], { blobHTTPHeaders: { blobContentType: 'text/csv' } });
  assert.equal((await blob.getProperties()).contentType, 'text/csv');
  assert.deepEqual((await blob.getProperties()).metadata, {});
});

test('Put Block List: Committed, Uncommitted and Latest elements pick from the right list', async (t) => {
  // Goal: the three element kinds of Put Block List (spec §7). The SDK only sends <Latest>, so this
  // test sends the XML itself over a Shared Key signed request.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('kinds.txt');
  await blob.stageBlock(blockId(1), 'one|', 4);
  await blob.stageBlock(blockId(2), 'two|', 4);
  await blob.commitBlockList([blockId(1), blockId(2)]);
  await blob.stageBlock(blockId(2), 'TWO|', 4); // same id, new bytes, uncommitted
  await blob.stageBlock(blockId(3), 'three|', 6);

  // Unknown ids in a kind's list → 400 InvalidBlockList, and nothing changes.
  const badCommitted = await putBlockListRaw(srv, blob, [['Committed', blockId(3)]]);
  assert.deepEqual(badCommitted, { status: 400, code: 'InvalidBlockList' }, 'block 3 is only uncommitted');
  const badUncommitted = await putBlockListRaw(srv, blob, [['Uncommitted', blockId(1)]]);
  assert.deepEqual(badUncommitted, { status: 400, code: 'InvalidBlockList' }, 'block 1 is only committed');
  assert.equal((await download(blob)).toString(), 'one|two|');

  const ok = await putBlockListRaw(srv, blob, [
    ['Committed', blockId(2)], // the committed "two|"
    ['Uncommitted', blockId(2)], // the staged "TWO|"
    ['Latest', blockId(1)], // only committed → committed
    ['Latest', blockId(3)], // only uncommitted → uncommitted
  ]);
  assert.deepEqual(ok, { status: 201, code: undefined });
  assert.equal((await download(blob)).toString(), 'two|TWO|one|three|');
  const list = await blob.getBlockList('all');
  assert.deepEqual(list.committedBlocks?.map((b) => b.size), [4, 4, 4, 6]);
  assert.deepEqual(list.uncommittedBlocks ?? [], []);
});

test('block list errors: InvalidBlockList, bad block ids, block ids of different lengths', async (t) => {
  // Goal: the block-id rules (base64, ≤ 64 bytes, one length per blob) and unknown ids in a commit.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('strict.bin');
  await blob.stageBlock(blockId(1), 'x', 1);
  await expectAzureError(blob.commitBlockList([blockId(1), blockId(99)]), 400, 'InvalidBlockList');
  await expectAzureError(blob.getProperties(), 404, 'BlobNotFound');

  await expectAzureError(blob.stageBlock('not base64!', 'x', 1), 400, 'InvalidBlockId');
  await expectAzureError(blob.stageBlock(Buffer.alloc(65, 1).toString('base64'), 'x', 1), 400, 'InvalidBlockId');

  // blockId(n) decodes to 12 bytes; a 16-byte id on the same blob is refused.
  await expectAzureError(blob.stageBlock(Buffer.alloc(16, 7).toString('base64'), 'x', 1), 400, 'InvalidBlobOrBlock');
  // A different blob may use any (single) length.
  const other = container.getBlockBlobClient('other.bin');
  await other.stageBlock(Buffer.alloc(16, 7).toString('base64'), 'y', 1);
  await other.commitBlockList([Buffer.alloc(16, 7).toString('base64')]);
  assert.equal((await download(other)).toString(), 'y');
  // Committing the blob above drops its uncommitted list, so a new length is fine afterwards.
  await blob.commitBlockList([blockId(1)]);
  await blob.stageBlock(Buffer.alloc(20, 3).toString('base64'), 'z', 1);
});

test('ranged download: 206 with the right bytes and Content-Range; bad range → 416', async (t) => {
  // Goal: Get Blob with x-ms-range serves exactly the bytes asked for (clamped at the end) and
  // refuses ranges that start at or past the end.
  const { container } = await setup(t);
  const data = patternBytes(1000, 42);
  const blob = container.getBlockBlobClient('ranges.bin');
  await blob.upload(data, data.length);

  const mid = await blob.download(100, 50);
  assert.equal(mid._response.status, 206);
  assert.equal(mid.contentRange, 'bytes 100-149/1000');
  assert.equal(mid.contentLength, 50);
  assert.ok((await streamToBuffer(mid.readableStreamBody)).equals(data.subarray(100, 150)));

  const tail = await blob.download(990);
  assert.equal(tail.contentRange, 'bytes 990-999/1000');
  assert.ok((await streamToBuffer(tail.readableStreamBody)).equals(data.subarray(990)));

  const clamped = await blob.download(995, 100);
  assert.equal(clamped.contentRange, 'bytes 995-999/1000');
  assert.ok((await streamToBuffer(clamped.readableStreamBody)).equals(data.subarray(995)));

  const whole = await blob.download();
  assert.equal(whole._response.status, 200);
  assert.equal(whole.contentRange, undefined);
  assert.ok((await streamToBuffer(whole.readableStreamBody)).equals(data));

  await expectAzureError(blob.download(1000), 416, 'InvalidRange');
  await expectAzureError(blob.download(5000, 10), 416, 'InvalidRange');
});

test('rangeGetContentMD5: MD5 of the range, whole-blob MD5 alongside; > 4 MiB refused', async (t) => {
  // Goal: x-ms-range-get-content-md5 returns Content-MD5 of just the served range (spec §3 Ranges).
  const { container } = await setup(t);
  const data = patternBytes(4 * MiB + 2048, 7);
  const blob = container.getBlockBlobClient('md5.bin');
  await blob.uploadData(data, { maxSingleShotSize: 8 * MiB });

  const ranged = await blob.download(1000, 3000, { rangeGetContentMD5: true });
  assert.deepEqual(Buffer.from(ranged.contentMD5 ?? []), md5(data.subarray(1000, 4000)));
  assert.deepEqual(Buffer.from(ranged.blobContentMD5 ?? []), md5(data), 'x-ms-blob-content-md5 is the stored whole-blob MD5');
  assert.ok((await streamToBuffer(ranged.readableStreamBody)).equals(data.subarray(1000, 4000)));

  const plainRange = await blob.download(1000, 3000);
  assert.equal(plainRange.contentMD5, undefined, 'a ranged response without the flag has no Content-MD5');
  await streamToBuffer(plainRange.readableStreamBody);

  await expectAzureError(blob.download(0, 4 * MiB + 1, { rangeGetContentMD5: true }), 400, 'OutOfRangeInput');
});

test('large blocks and blobs (hashed on the MD5 worker): Content-MD5 returned, stored and checked', async (t) => {
  // Goal: bodies from 1 MiB on are hashed off the request thread; the digests must be the same as the
  // small-body path gives. Method: a 3 MiB stage block and a 2 MiB Put Blob, each once with a wrong
  // transactional MD5 (rejected, nothing stored) and once with the right one.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('large-md5.bin');
  const block = patternBytes(3 * MiB + 5);
  await expectAzureError(blob.stageBlock(blockId(1), block, block.length, { transactionalContentMD5: md5('not these bytes') }), 400, 'Md5Mismatch');
  await expectAzureError(blob.getBlockList('all'), 404, 'BlobNotFound');
  const staged = await blob.stageBlock(blockId(1), block, block.length);
  assert.deepEqual(Buffer.from(staged.contentMD5 ?? []), md5(block), 'Put Block returns the MD5 of the block');

  const single = container.getBlockBlobClient('large-single.bin');
  const body = patternBytes(2 * MiB);
  await expectAzureError(single.upload(body, body.length, withContentMd5(md5('other'))), 400, 'Md5Mismatch');
  await expectAzureError(single.getProperties(), 404, 'BlobNotFound');
  const put = await single.upload(body, body.length, withContentMd5(md5(body)));
  assert.deepEqual(Buffer.from(put.contentMD5 ?? []), md5(body));
  assert.deepEqual(Buffer.from((await single.getProperties()).contentMD5 ?? []), md5(body), 'Put Blob stores the MD5 it computed');
});

test('Content-MD5 mismatch on upload and stage block → 400 Md5Mismatch, nothing stored', async (t) => {
  // Goal: a transactional Content-MD5 is checked against the bytes received.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('checked.txt');
  await expectAzureError(blob.upload('hello', 5, withContentMd5(md5('HELLO'))), 400, 'Md5Mismatch');
  await expectAzureError(blob.getProperties(), 404, 'BlobNotFound');
  await expectAzureError(blob.stageBlock(blockId(1), 'hello', 5, { transactionalContentMD5: md5('HELLO') }), 400, 'Md5Mismatch');
  await expectAzureError(blob.getBlockList('all'), 404, 'BlobNotFound');

  // The right MD5 is accepted.
  await blob.upload('hello', 5, withContentMd5(md5('hello')));
  await blob.stageBlock(blockId(1), 'world', 5, { transactionalContentMD5: md5('world') });
  assert.equal((await download(blob)).toString(), 'hello');
});

test('blob HTTP headers: set at upload, replaced as a set, cleared when omitted', async (t) => {
  // Goal: Set Blob Properties replaces all six HTTP headers together (spec §9); Get Blob returns them.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('page.html');
  const headers = {
    blobContentType: 'text/html; charset=utf-8',
    blobContentEncoding: 'identity',
    blobContentLanguage: 'en-GB',
    blobContentDisposition: 'inline; filename="page.html"',
    blobCacheControl: 'max-age=60',
  };
  await blob.upload('<p>hi</p>', 9, { blobHTTPHeaders: headers });
  let props = await blob.getProperties();
  assert.equal(props.contentType, headers.blobContentType);
  assert.equal(props.contentEncoding, headers.blobContentEncoding);
  assert.equal(props.contentLanguage, headers.blobContentLanguage);
  assert.equal(props.contentDisposition, headers.blobContentDisposition);
  assert.equal(props.cacheControl, headers.blobCacheControl);
  const got = await blob.download();
  assert.equal(got.contentType, headers.blobContentType);
  assert.equal(got.cacheControl, headers.blobCacheControl);
  await streamToBuffer(got.readableStreamBody);

  // Only content type given → the others (including Content-MD5) are cleared.
  const set = await blob.setHTTPHeaders({ blobContentType: 'text/plain' });
  assert.notEqual(set.etag, props.etag);
  props = await blob.getProperties();
  assert.equal(props.contentType, 'text/plain');
  assert.equal(props.contentEncoding, undefined);
  assert.equal(props.contentLanguage, undefined);
  assert.equal(props.contentDisposition, undefined);
  assert.equal(props.cacheControl, undefined);
  assert.equal(props.contentMD5, undefined);

  // An explicit MD5 is stored as given; nothing at all → default content type.
  await blob.setHTTPHeaders({ blobContentMD5: md5('anything') });
  assert.deepEqual(Buffer.from((await blob.getProperties()).contentMD5 ?? []), md5('anything'));
  await blob.setHTTPHeaders();
  props = await blob.getProperties();
  assert.equal(props.contentType, 'application/octet-stream');
  assert.equal(props.contentMD5, undefined);
  assert.equal((await download(blob)).toString(), '<p>hi</p>', 'content is untouched');
  await expectAzureError(container.getBlockBlobClient('missing').setHTTPHeaders({}), 404, 'BlobNotFound');
});

test('blob metadata: set at upload, replace, clear', async (t) => {
  // Goal: Set Blob Metadata replaces the whole set and bumps the ETag; Put Blob replaces it too.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('tagged.txt');
  await blob.upload('x', 1, { metadata: { owner: 'alice', stage: 'draft' } });
  assert.deepEqual((await blob.getProperties()).metadata, { owner: 'alice', stage: 'draft' });

  const before = (await blob.getProperties()).etag;
  const set = await blob.setMetadata({ stage: 'final' });
  assert.notEqual(set.etag, before);
  assert.deepEqual((await blob.getProperties()).metadata, { stage: 'final' });
  const got = await blob.download();
  assert.deepEqual(got.metadata, { stage: 'final' }, 'Get Blob carries metadata too');
  await streamToBuffer(got.readableStreamBody);

  await blob.setMetadata();
  assert.deepEqual((await blob.getProperties()).metadata, {});

  // Names keep the case they were written in (visible in listings; HTTP header names are lower-cased).
  await blob.setMetadata({ CamelCase: 'v', lower: 'w' });
  for await (const item of container.listBlobsFlat({ includeMetadata: true, prefix: 'tagged' })) {
    assert.deepEqual(item.metadata, { CamelCase: 'v', lower: 'w' });
  }

  await blob.setMetadata({ a: '1' });
  await blob.upload('y', 1);
  assert.deepEqual((await blob.getProperties()).metadata, {}, 'Put Blob replaces metadata wholesale');
  await expectAzureError(blob.setMetadata({ 'not-valid': '1' }), 400, 'InvalidMetadata');
});

test('delete blob: 202, then 404; deleteIfExists', async (t) => {
  // Goal: Delete Blob removes the blob and its uncommitted blocks.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('gone.txt');
  await blob.upload('bye', 3);
  await blob.stageBlock(blockId(1), 'left over', 9);
  const deleted = await blob.delete();
  assert.equal(deleted._response.status, 202);
  await expectAzureError(blob.getProperties(), 404, 'BlobNotFound');
  await expectAzureError(blob.download(), 404, 'BlobNotFound');
  await expectAzureError(blob.delete(), 404, 'BlobNotFound');
  await expectAzureError(blob.getBlockList('all'), 404, 'BlobNotFound');
  assert.equal((await blob.deleteIfExists()).succeeded, false);
  assert.equal(await blob.exists(), false);
  await expectAzureError(container.getBlobClient('never.txt').delete(), 404, 'BlobNotFound');
  await expectAzureError(container.getBlobClient('never.txt').download(), 404, 'BlobNotFound');
  await expectAzureError(srv.serviceClient.getContainerClient('nope').getBlobClient('x').delete(), 404, 'ContainerNotFound');
});

test('conditional reads: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async (t) => {
  // Goal: read conditions per spec §3: failed If-None-Match / If-Modified-Since → 304 (the SDK
  // throws with statusCode 304), failed If-Match / If-Unmodified-Since → 412 ConditionNotMet.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('cond.txt');
  await blob.upload('v1', 2);
  const { etag, lastModified } = await blob.getProperties();
  assert.ok(etag && lastModified);
  const earlier = new Date(lastModified.getTime() - seconds(1));
  srv.clock.advance(seconds(5)); // the server's "now" is past Last-Modified

  // Satisfied conditions.
  const matched = await blob.download(0, undefined, { conditions: { ifMatch: etag } });
  assert.equal(matched._response.status, 200);
  assert.equal((await streamToBuffer(matched.readableStreamBody)).toString(), 'v1');
  assert.equal((await blob.getProperties({ conditions: { ifMatch: '*' } })).etag, etag);
  await blob.getProperties({ conditions: { ifNoneMatch: WRONG_ETAG } });
  await blob.getProperties({ conditions: { ifModifiedSince: earlier } });
  await blob.getProperties({ conditions: { ifUnmodifiedSince: lastModified } });
  await blob.downloadToBuffer(0, undefined, { conditions: { ifUnmodifiedSince: lastModified } });

  // Failed: 304 for not-modified conditions, on GET and HEAD.
  await expectAzureError(blob.download(0, undefined, { conditions: { ifNoneMatch: etag } }), 304);
  await expectAzureError(blob.getProperties({ conditions: { ifNoneMatch: etag } }), 304);
  await expectAzureError(blob.download(0, undefined, { conditions: { ifModifiedSince: lastModified } }), 304);
  await expectAzureError(blob.getProperties({ conditions: { ifModifiedSince: new Date(lastModified.getTime() + seconds(60)) } }), 304);

  // If-None-Match: * can never be satisfied by a read of an existing blob.
  await expectAzureError(blob.getProperties({ conditions: { ifNoneMatch: '*' } }), 400);
  await expectAzureError(blob.download(0, undefined, { conditions: { ifNoneMatch: '*' } }), 400, 'UnsatisfiableCondition');

  // Failed: 412 for the others.
  await expectAzureError(blob.download(0, undefined, { conditions: { ifMatch: WRONG_ETAG } }), 412, 'ConditionNotMet');
  await expectAzureError(blob.getProperties({ conditions: { ifMatch: WRONG_ETAG } }), 412);
  await expectAzureError(blob.download(0, undefined, { conditions: { ifUnmodifiedSince: earlier } }), 412, 'ConditionNotMet');

  // After a write, the old ETag no longer matches.
  await blob.upload('v2', 2);
  await expectAzureError(blob.download(0, undefined, { conditions: { ifMatch: etag } }), 412, 'ConditionNotMet');
  assert.equal((await blob.downloadToBuffer(0, undefined, { conditions: { ifNoneMatch: etag } })).toString(), 'v2');
});

test('conditional writes: 412 ConditionNotMet; If-None-Match * on existing blob → 409 BlobAlreadyExists', async (t) => {
  // Goal: write conditions per spec §3, checked before anything changes.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('guarded.txt');

  // Create-only upload: works when absent, 409 when present (Put Blob and Put Block List).
  await blob.upload('first', 5, { conditions: { ifNoneMatch: '*' } });
  await expectAzureError(blob.upload('second', 6, { conditions: { ifNoneMatch: '*' } }), 409, 'BlobAlreadyExists');
  await blob.stageBlock(blockId(1), 'third', 5);
  await expectAzureError(blob.commitBlockList([blockId(1)], { conditions: { ifNoneMatch: '*' } }), 409, 'BlobAlreadyExists');
  assert.equal((await download(blob)).toString(), 'first');

  const { etag, lastModified } = await blob.getProperties();
  assert.ok(etag && lastModified);
  const earlier = new Date(lastModified.getTime() - seconds(1));
  srv.clock.advance(seconds(5));

  await expectAzureError(blob.setMetadata({ a: '1' }, { conditions: { ifMatch: WRONG_ETAG } }), 412, 'ConditionNotMet');
  await expectAzureError(blob.setMetadata({ a: '1' }, { conditions: { ifNoneMatch: etag } }), 412, 'ConditionNotMet');
  await expectAzureError(blob.setHTTPHeaders({}, { conditions: { ifModifiedSince: lastModified } }), 412, 'ConditionNotMet');
  await expectAzureError(blob.upload('x', 1, { conditions: { ifUnmodifiedSince: earlier } }), 412, 'ConditionNotMet');
  await expectAzureError(blob.delete({ conditions: { ifMatch: WRONG_ETAG } }), 412, 'ConditionNotMet');
  assert.deepEqual((await blob.getProperties()).metadata, {}, 'failed writes changed nothing');
  assert.equal((await blob.getProperties()).etag, etag);

  // If-Match on a missing blob fails; the other conditions are ignored for a missing blob.
  const absent = container.getBlockBlobClient('absent.txt');
  await expectAzureError(absent.upload('x', 1, { conditions: { ifMatch: etag } }), 412, 'ConditionNotMet');
  await absent.upload('x', 1, { conditions: { ifUnmodifiedSince: earlier } });

  // Satisfied conditions let the write through.
  const written = await blob.setMetadata({ a: '1' }, { conditions: { ifMatch: etag, ifUnmodifiedSince: lastModified } });
  await blob.upload('next', 4, { conditions: { ifMatch: written.etag } });
  await blob.delete({ conditions: { ifNoneMatch: WRONG_ETAG } });
  assert.equal(await blob.exists(), false);
});

test('ETag and Last-Modified change on every write and not on reads, staging or leases', async (t) => {
  // Goal: spec §3 ETag rules: content, metadata and property changes get a new ETag; Put Block and
  // lease operations do not change it.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('etags.txt');
  const seen = new Set<string>();
  const fresh = (etag: string | undefined) => {
    assert.ok(etag && !seen.has(etag), `ETag ${String(etag)} must be new`);
    seen.add(etag);
    return etag;
  };
  fresh((await blob.upload('a', 1)).etag);
  fresh((await blob.upload('a', 1)).etag); // same bytes, still a new ETag
  fresh((await blob.setMetadata({ k: 'v' })).etag);
  const last = fresh((await blob.setHTTPHeaders({ blobContentType: 'text/plain' })).etag);

  await blob.stageBlock(blockId(1), 'b', 1);
  await blob.getBlockList('all');
  const lease = await blob.getBlobLeaseClient(LEASE_A).acquireLease(-1);
  assert.equal(lease.etag, last, 'lease responses carry the unchanged ETag');
  await blob.getBlobLeaseClient(LEASE_A).releaseLease();
  assert.equal((await blob.getProperties()).etag, last);

  srv.clock.advance(seconds(3));
  const committed = await blob.commitBlockList([blockId(1)]);
  fresh(committed.etag);
  const props = await blob.getProperties();
  assert.equal(props.etag, committed.etag);
  assert.equal(props.lastModified?.getTime(), Math.floor(srv.clock.nowMs() / 1000) * 1000, 'Last-Modified is the server clock at the write');
});

test('blob lease: writes need the lease id; reads do not; wrong ids → 412', async (t) => {
  // Goal: blob lease rules of spec §16 for every kind of write.
  const { container } = await setup(t);
  const blob = container.getBlockBlobClient('leased.txt');
  await blob.upload('v1', 2);
  const lease = blob.getBlobLeaseClient(LEASE_A);
  const acquired = await lease.acquireLease(-1);
  assert.equal(acquired._response.status, 201);
  assert.equal(acquired.leaseId, LEASE_A);
  const props = await blob.getProperties();
  assert.equal(props.leaseState, 'leased');
  assert.equal(props.leaseStatus, 'locked');
  assert.equal(props.leaseDuration, 'infinite');

  // No id → LeaseIdMissing; wrong id → LeaseIdMismatchWithBlobOperation.
  await expectAzureError(blob.upload('v2', 2), 412, 'LeaseIdMissing');
  await expectAzureError(blob.upload('v2', 2, { conditions: { leaseId: LEASE_B } }), 412, 'LeaseIdMismatchWithBlobOperation');
  await expectAzureError(blob.setMetadata({ a: '1' }), 412, 'LeaseIdMissing');
  await expectAzureError(blob.setHTTPHeaders({}, { conditions: { leaseId: LEASE_B } }), 412, 'LeaseIdMismatchWithBlobOperation');
  await expectAzureError(blob.stageBlock(blockId(1), 'b', 1), 412, 'LeaseIdMissing');
  await expectAzureError(blob.commitBlockList([]), 412, 'LeaseIdMissing');
  await expectAzureError(blob.delete(), 412, 'LeaseIdMissing');
  await expectAzureError(blob.delete({ conditions: { leaseId: LEASE_B } }), 412, 'LeaseIdMismatchWithBlobOperation');

  // Reads work without an id; a wrong id on a read is refused.
  assert.equal((await download(blob)).toString(), 'v1');
  await expectAzureError(blob.getProperties({ conditions: { leaseId: LEASE_B } }), 412, 'LeaseIdMismatchWithBlobOperation');
  await blob.getProperties({ conditions: { leaseId: LEASE_A } });

  // Right id → the writes go through.
  await blob.upload('v2', 2, { conditions: { leaseId: LEASE_A } });
  await blob.setMetadata({ a: '1' }, { conditions: { leaseId: LEASE_A } });
  await blob.stageBlock(blockId(1), 'b', 1, { conditions: { leaseId: LEASE_A } });
  await blob.commitBlockList([blockId(1)], { conditions: { leaseId: LEASE_A } });
  assert.equal((await download(blob)).toString(), 'b');
  assert.equal((await blob.getProperties()).leaseState, 'leased', 'overwriting keeps the lease');

  // Lease operations with the wrong id; another acquirer.
  await expectAzureError(blob.getBlobLeaseClient(LEASE_B).acquireLease(-1), 409, 'LeaseAlreadyPresent');
  await expectAzureError(blob.getBlobLeaseClient(LEASE_B).releaseLease(), 409, 'LeaseIdMismatchWithLeaseOperation');
  await expectAzureError(container.getBlockBlobClient('unleased').getBlobLeaseClient().acquireLease(-1), 404, 'BlobNotFound');
  await lease.changeLease(LEASE_B);
  await expectAzureError(blob.delete({ conditions: { leaseId: LEASE_A } }), 412, 'LeaseIdMismatchWithBlobOperation');
  await blob.getBlobLeaseClient(LEASE_B).releaseLease();
  assert.equal((await blob.getProperties()).leaseState, 'available');
  await expectAzureError(blob.setMetadata({}, { conditions: { leaseId: LEASE_B } }), 412, 'LeaseNotPresentWithBlobOperation');

  await expectAzureError(blob.getBlobLeaseClient(LEASE_B).breakLease(0), 409, 'LeaseNotPresentWithLeaseOperation');
  await blob.getBlobLeaseClient(LEASE_A).acquireLease(-1);
  await blob.delete({ conditions: { leaseId: LEASE_A } });
  assert.equal(await blob.exists(), false);
  await expectAzureError(blob.getBlobLeaseClient(LEASE_A).acquireLease(-1), 404, 'BlobNotFound');
});

test('blob lease: expiry and break follow the server clock', async (t) => {
  // Goal: a fixed lease expires when the ManualClock passes its duration (no sleeping); an expired
  // lease id is LeaseLost on writes; a break period ends by the clock too.
  const { srv, container } = await setup(t);
  const blob = container.getBlockBlobClient('timed.txt');
  await blob.upload('v1', 2);

  await blob.getBlobLeaseClient(LEASE_A).acquireLease(15);
  srv.clock.advance(seconds(14));
  await expectAzureError(blob.upload('v2', 2), 412, 'LeaseIdMissing');
  assert.equal((await blob.getProperties()).leaseState, 'leased');
  await blob.getBlobLeaseClient(LEASE_A).renewLease(); // renew restarts the 15 s
  srv.clock.advance(seconds(14));
  assert.equal((await blob.getProperties()).leaseState, 'leased');
  srv.clock.advance(seconds(2));
  const expired = await blob.getProperties();
  assert.equal(expired.leaseState, 'expired');
  assert.equal(expired.leaseStatus, 'unlocked');
  await expectAzureError(blob.setMetadata({ a: '1' }, { conditions: { leaseId: LEASE_A } }), 412, 'LeaseLost');
  await blob.upload('v2', 2); // no lease needed any more
  assert.equal((await blob.getBlobLeaseClient(LEASE_B).acquireLease(-1)).leaseId, LEASE_B);

  // Break with a period: still locked (writes need the id) until the clock passes it.
  const broken = await blob.getBlobLeaseClient(LEASE_B).breakLease(5);
  assert.equal(broken.leaseTime, 5);
  assert.equal((await blob.getProperties()).leaseState, 'breaking');
  await expectAzureError(blob.upload('v3', 2), 412, 'LeaseIdMissing');
  await blob.upload('v3', 2, { conditions: { leaseId: LEASE_B } });
  await expectAzureError(blob.getBlobLeaseClient(LEASE_B).renewLease(), 409, 'LeaseIsBrokenAndCannotBeRenewed');
  srv.clock.advance(seconds(6));
  assert.equal((await blob.getProperties()).leaseState, 'broken');
  await blob.upload('v4', 2);
  assert.equal((await download(blob)).toString(), 'v4');
});

test('copy: syncCopyFromURL and beginCopyFromURL complete with success and copy everything', async (t) => {
  // Goal: both Copy Blob flavours copy content, HTTP headers and metadata (or the override) and
  // report copy status on the destination (spec §10).
  const { srv, container } = await setup(t);
  const data = patternBytes(300_000, 3);
  const source = container.getBlockBlobClient('src/original.bin');
  await source.upload(data, data.length, { metadata: { origin: 'source' }, blobHTTPHeaders: { blobContentType: 'application/x-test' } });

  // 1. Synchronous copy.
  const syncTarget = container.getBlockBlobClient('dst/sync.bin');
  const sync = await syncTarget.syncCopyFromURL(source.url);
  assert.equal(sync._response.status, 202);
  assert.equal(sync.copyStatus, 'success');
  assert.ok(sync.copyId);
  assert.ok((await download(syncTarget)).equals(data));
  const syncProps = await syncTarget.getProperties();
  assert.deepEqual(syncProps.metadata, { origin: 'source' });
  assert.equal(syncProps.contentType, 'application/x-test');
  assert.equal(syncProps.copyStatus, 'success');
  assert.equal(syncProps.copyId, sync.copyId);
  assert.equal(syncProps.copyProgress, `${data.length}/${data.length}`);
  assert.equal(syncProps.copySource, source.url);
  assert.notEqual(syncProps.etag, (await source.getProperties()).etag);

  // 2. Asynchronous copy: the poller is done after the first call, metadata override applies.
  const asyncTarget = container.getBlockBlobClient('dst/async.bin');
  const poller = await asyncTarget.beginCopyFromURL(source.url, { metadata: { copied: 'yes' }, intervalInMs: 0 });
  assert.equal(poller.isDone(), true, 'a same-account copy completes before the response');
  const result = await poller.pollUntilDone();
  assert.equal(result.copyStatus, 'success');
  assert.ok((await download(asyncTarget)).equals(data));
  assert.deepEqual((await asyncTarget.getProperties()).metadata, { copied: 'yes' });

  // 3. The copy is independent of its source afterwards, also after a garbage-collection pass
  //    (copies share the source's bytes by reference). With the default extent size these bytes
  //    stay in the active extent, so today the pass is a regression guard rather than a GC test.
  await source.upload('changed', 7);
  assert.ok((await download(syncTarget)).equals(data));
  await source.delete();
  await srv.runDue();
  assert.ok((await download(asyncTarget)).equals(data));
  assert.ok((await download(syncTarget)).equals(data));

  // A blob copied onto itself keeps its bytes and takes the new metadata.
  await syncTarget.syncCopyFromURL(syncTarget.url, { metadata: { self: 'copy' } });
  assert.ok((await download(syncTarget)).equals(data));
  assert.deepEqual((await syncTarget.getProperties()).metadata, { self: 'copy' });

  // 4. Source conditions are checked against the source: 412 SourceConditionNotMet.
  const sourceEtag = (await syncTarget.getProperties()).etag;
  await expectAzureError(asyncTarget.syncCopyFromURL(syncTarget.url, { sourceConditions: { ifMatch: WRONG_ETAG } }), 412, 'SourceConditionNotMet');
  await expectAzureError(asyncTarget.beginCopyFromURL(syncTarget.url, { sourceConditions: { ifNoneMatch: sourceEtag } }), 412, 'SourceConditionNotMet');
  await asyncTarget.syncCopyFromURL(syncTarget.url, { sourceConditions: { ifMatch: sourceEtag } });
  // …and destination conditions against the destination.
  await expectAzureError(asyncTarget.syncCopyFromURL(syncTarget.url, { conditions: { ifNoneMatch: '*' } }), 409, 'BlobAlreadyExists');
  await expectAzureError(asyncTarget.syncCopyFromURL(syncTarget.url, { conditions: { ifMatch: WRONG_ETAG } }), 412, 'ConditionNotMet');

  // 5. Copy onto a leased destination needs its lease id.
  await asyncTarget.getBlobLeaseClient(LEASE_A).acquireLease(-1);
  await expectAzureError(asyncTarget.syncCopyFromURL(syncTarget.url), 412, 'LeaseIdMissing');
  await asyncTarget.syncCopyFromURL(syncTarget.url, { conditions: { leaseId: LEASE_A } });
});

test('copy: Put Blob From URL and Put Block From URL with a range', async (t) => {
  // Goal: uploadBlobFromURL replaces the target like Put Blob (copying source properties by
  // default); stageBlockFromURL stages exactly the requested source range.
  const { srv, container } = await setup(t);
  const data = patternBytes(100_000, 11);
  const source = container.getBlockBlobClient('source.bin');
  await source.upload(data, data.length, { metadata: { m: 'source' }, blobHTTPHeaders: { blobContentType: 'image/png', blobCacheControl: 'no-cache' } });

  const target = container.getBlockBlobClient('from-url.bin');
  await target.upload('old', 3, { metadata: { m: 'old' } });
  const put = await target.syncUploadFromURL(source.url, { metadata: { m: 'new' } });
  assert.equal(put._response.status, 201);
  assert.ok((await download(target)).equals(data));
  const props = await target.getProperties();
  assert.equal(props.contentType, 'image/png', 'source HTTP properties are copied by default');
  assert.equal(props.cacheControl, 'no-cache');
  assert.deepEqual(props.metadata, { m: 'new' });
  assert.equal(props.copyStatus, undefined, 'Put Blob From URL is not a copy operation on the target');

  const assembled = container.getBlockBlobClient('assembled.bin');
  await assembled.stageBlockFromURL(blockId(1), source.url, 10, 20);
  await assembled.stageBlockFromURL(blockId(2), source.url, 99_990, 10);
  await assembled.stageBlockFromURL(blockId(3), source.url); // whole source
  await expectAzureError(assembled.stageBlockFromURL(blockId(4), source.url, 100_000, 10), 416, 'InvalidRange');
  const list = await assembled.getBlockList('uncommitted');
  assert.deepEqual(list.uncommittedBlocks?.map((b) => b.size), [20, 10, 100_000]);
  await assembled.commitBlockList([blockId(1), blockId(2), blockId(3)]);
  const expected = Buffer.concat([data.subarray(10, 30), data.subarray(99_990), data]);
  assert.ok((await download(assembled)).equals(expected));
  // The staged blocks reference the source's bytes; deleting the source and collecting garbage
  // must not take them away.
  await source.delete();
  await srv.runDue();
  assert.ok((await download(assembled)).equals(expected));
  assert.ok((await download(target)).equals(data));

});

test('copy of a missing source fails and leaves the target alone', async (t) => {
  // Goal: every copy flavour reports a missing source instead of creating an empty target.
  const { container } = await setup(t);
  const missing = container.getBlockBlobClient('does-not-exist.bin').url;
  const target = container.getBlockBlobClient('target.bin');
  await target.upload('keep', 4);

  await expectAzureError(target.syncCopyFromURL(missing), 404, 'CannotVerifyCopySource');
  await expectAzureError(target.beginCopyFromURL(missing), 404, 'CannotVerifyCopySource');
  await expectAzureError(target.syncUploadFromURL(missing), 404, 'CannotVerifyCopySource');
  await expectAzureError(target.stageBlockFromURL(blockId(1), missing), 404, 'CannotVerifyCopySource');
  const otherContainer = container.url.replace(/\/blocks$/, '/no-such-container') + '/x.bin';
  await expectAzureError(target.syncCopyFromURL(otherContainer), 404, 'CannotVerifyCopySource');
  assert.equal((await download(target)).toString(), 'keep');
  assert.deepEqual((await target.getBlockList('uncommitted')).uncommittedBlocks ?? [], []);
});

// ---------------------------------------------------------------------------------------------

/**
 * Upload options that send a Content-MD5 header. BlockBlobClient.upload (12.32) forwards
 * `transactionalContentMD5` at runtime (setUploadChecksumParameters, "Customized" checksum mode) but
 * its options type no longer declares it.
 */
function withContentMd5(contentMd5: Uint8Array): BlockBlobUploadOptions {
  return { transactionalContentMD5: contentMd5 } as BlockBlobUploadOptions;
}

function* chunksOf(data: Buffer, sizeBytes: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += sizeBytes) yield data.subarray(i, i + sizeBytes);
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  assert.ok(stream, 'response has a body stream');
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * Put Block List with explicit <Committed>/<Uncommitted>/<Latest> elements, which the SDK never
 * sends (its commitBlockList uses <Latest> only). Signed with Shared Key like any client.
 */
async function putBlockListRaw(
  srv: TestServer,
  blob: BlockBlobClient,
  items: Array<['Committed' | 'Uncommitted' | 'Latest', string]>,
): Promise<{ status: number; code: string | undefined }> {
  const body = Buffer.from(
    `<?xml version="1.0" encoding="utf-8"?><BlockList>${items.map(([kind, id]) => `<${kind}>${id}</${kind}>`).join('')}</BlockList>`,
  );
  const url = new URL(blob.url);
  const headers: Record<string, string> = {
    'content-length': String(body.length),
    'content-type': 'application/xml',
    'x-ms-date': srv.clock.now().toUTCString(),
    'x-ms-version': '2021-12-02',
  };
  headers.authorization = signSharedKey({ method: 'PUT', rawPath: url.pathname, query: [['comp', 'blocklist']], headers }, DEV_ACCOUNT, DEV_ACCOUNT_KEY);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: `${url.pathname}?comp=blocklist`, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        const code = res.headers['x-ms-error-code'];
        resolve({ status: res.statusCode ?? 0, code: typeof code === 'string' ? code : undefined });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
