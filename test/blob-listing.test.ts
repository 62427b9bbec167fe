// Integration tests for List Blobs through @azure/storage-blob against a real Nimbus: flat and
// hierarchical listings, paging with opaque markers, metadata, and names that need escaping.
// spec/blob-rest.md §13.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerClient } from '@azure/storage-blob';
import { startTestServer, type TestServer } from './helpers/server.js';
import { expectAzureError } from './helpers/azure-assert.js';

async function setup(t: TestContext): Promise<{ srv: TestServer; container: ContainerClient }> {
  const srv = await startTestServer();
  t.after(() => srv.stop());
  const container = srv.serviceClient.getContainerClient('listing');
  await container.create();
  return { srv, container };
}

async function uploadAll(container: ContainerClient, names: string[], metadataOf: (name: string) => Record<string, string> = () => ({})): Promise<void> {
  // Small concurrent batches: fast, and the order of uploads must not matter to the listing.
  for (let i = 0; i < names.length; i += 16) {
    await Promise.all(names.slice(i, i + 16).map((name) => container.getBlockBlobClient(name).upload(name, Buffer.byteLength(name), { metadata: metadataOf(name) })));
  }
}

/** Ordinal (UTF-16 code unit) order, which is how Azure sorts names. */
const ordinal = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

test('flat listing: names in order, properties, metadata only with includeMetadata', async (t) => {
  // Goal: a flat listing returns every blob once, sorted by name, with its properties; metadata
  // appears only when include=metadata is sent.
  const { container } = await setup(t);
  const names = ['b.txt', 'a.txt', 'C.txt', 'dir/x.txt', 'a.txt.bak'];
  await uploadAll(container, names, (name) => ({ source: name.replace(/[^a-z]/gi, '') }));

  const withMeta = [];
  for await (const blob of container.listBlobsFlat({ includeMetadata: true })) withMeta.push(blob);
  assert.deepEqual(withMeta.map((b) => b.name), [...names].sort(ordinal), 'upper case sorts before lower case');
  for (const blob of withMeta) {
    assert.deepEqual(blob.metadata, { source: blob.name.replace(/[^a-z]/gi, '') });
    assert.equal(blob.properties.contentLength, Buffer.byteLength(blob.name));
    assert.equal(blob.properties.blobType, 'BlockBlob');
    assert.equal(blob.properties.leaseState, 'available');
    assert.ok(blob.properties.etag.length > 0);
    assert.ok(blob.properties.lastModified instanceof Date);
    assert.ok(blob.properties.contentMD5 && blob.properties.contentMD5.length === 16);
  }
  const props = await container.getBlobClient('a.txt').getProperties();
  const listed = withMeta.find((b) => b.name === 'a.txt');
  assert.equal(listed?.properties.etag.replace(/"/g, ''), props.etag?.replace(/"/g, ''), 'listing ETag is the blob ETag');

  for await (const blob of container.listBlobsFlat()) {
    assert.ok(blob.metadata === undefined || Object.keys(blob.metadata).length === 0, `no metadata for ${blob.name} without include`);
  }

  // Blocks staged for a name that was never committed do not make a blob (no include=uncommittedblobs).
  await container.getBlockBlobClient('staged-only.bin').stageBlock(Buffer.from('id-1').toString('base64'), 'x', 1);
  const afterStaging: string[] = [];
  for await (const blob of container.listBlobsFlat()) afterStaging.push(blob.name);
  assert.deepEqual(afterStaging, [...names].sort(ordinal));

  // Listed HTTP properties are the stored ones.
  await container.getBlockBlobClient('b.txt').setHTTPHeaders({ blobContentType: 'text/plain', blobCacheControl: 'no-store' });
  for await (const blob of container.listBlobsFlat({ prefix: 'b.' })) {
    assert.equal(blob.properties.contentType, 'text/plain');
    assert.equal(blob.properties.cacheControl, 'no-store');
  }

  const prefixed: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix: 'a.' })) prefixed.push(blob.name);
  assert.deepEqual(prefixed, ['a.txt', 'a.txt.bak']);
  const none: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix: 'zzz' })) none.push(blob.name);
  assert.deepEqual(none, []);
});

test('flat listing pages with byPage({maxPageSize}) across many blobs', async (t) => {
  // Goal: maxresults bounds each page, NextMarker resumes exactly after the previous page, and the
  // pages together are the full sorted listing with no gaps or repeats.
  const { container } = await setup(t);
  const names = Array.from({ length: 57 }, (_, i) => `item-${String(i).padStart(3, '0')}.dat`);
  await uploadAll(container, [...names].reverse());

  const pages: string[][] = [];
  let lastToken: string | undefined = 'unset';
  for await (const page of container.listBlobsFlat().byPage({ maxPageSize: 10 })) {
    pages.push(page.segment.blobItems.map((b) => b.name));
    lastToken = page.continuationToken;
  }
  assert.deepEqual(pages.map((p) => p.length), [10, 10, 10, 10, 10, 7]);
  assert.deepEqual(pages.flat(), names);
  assert.ok(!lastToken, 'the last page has no continuation');

  // Resume from a token taken from the middle of the listing.
  const iterator = container.listBlobsFlat().byPage({ maxPageSize: 25 });
  const first = await iterator.next();
  assert.equal(first.done, false);
  assert.equal(first.value.maxPageSize, 25);
  const token = first.value.continuationToken;
  assert.ok(token);
  const rest: string[] = [];
  for await (const page of container.listBlobsFlat().byPage({ continuationToken: token, maxPageSize: 100 })) {
    rest.push(...page.segment.blobItems.map((b) => b.name));
  }
  assert.deepEqual(rest, names.slice(25));

  // Page size 1 still walks everything; prefix and paging combine.
  const single: string[] = [];
  for await (const page of container.listBlobsFlat({ prefix: 'item-05' }).byPage({ maxPageSize: 1 })) {
    assert.ok(page.segment.blobItems.length <= 1);
    single.push(...page.segment.blobItems.map((b) => b.name));
  }
  assert.deepEqual(single, names.slice(50));
});

test('hierarchical listing: delimiter "/" gives blobs and virtual directories at each level', async (t) => {
  // Goal: with a delimiter, names with the delimiter after the prefix collapse into one BlobPrefix
  // per virtual directory, at every nesting level.
  const { container } = await setup(t);
  await uploadAll(container, [
    'a.txt', 'z.txt',
    'dir1/b.txt', 'dir1/c.txt', 'dir1/sub/d.txt', 'dir1/sub/deeper/e.txt', 'dir1/sub/deeper/f.txt',
    'dir2/g.txt', 'dir10/h.txt', 'dir1.txt',
  ]);

  assert.deepEqual(await level(container, ''), { blobs: ['a.txt', 'dir1.txt', 'z.txt'], prefixes: ['dir1/', 'dir10/', 'dir2/'] });
  assert.deepEqual(await level(container, 'dir1/'), { blobs: ['dir1/b.txt', 'dir1/c.txt'], prefixes: ['dir1/sub/'] });
  assert.deepEqual(await level(container, 'dir1/sub/'), { blobs: ['dir1/sub/d.txt'], prefixes: ['dir1/sub/deeper/'] });
  assert.deepEqual(await level(container, 'dir1/sub/deeper/'), { blobs: ['dir1/sub/deeper/e.txt', 'dir1/sub/deeper/f.txt'], prefixes: [] });
  // A prefix that is not a whole directory name.
  assert.deepEqual(await level(container, 'dir1'), { blobs: ['dir1.txt'], prefixes: ['dir1/', 'dir10/'] });
  assert.deepEqual(await level(container, 'nothing/'), { blobs: [], prefixes: [] });

  // The SDK's item iterator yields each page's prefixes, then its blobs (it parses them into two
  // lists, so the XML interleaving is not visible here; the paging test below checks it).
  const kinds: string[] = [];
  for await (const item of container.listBlobsByHierarchy('/', { prefix: 'dir1/' })) kinds.push(`${item.kind}:${item.name}`);
  assert.deepEqual(kinds, ['prefix:dir1/sub/', 'blob:dir1/b.txt', 'blob:dir1/c.txt']);

  // A delimiter other than "/".
  const dashed: string[] = [];
  for await (const item of container.listBlobsByHierarchy('.', { prefix: 'dir1' })) dashed.push(`${item.kind}:${item.name}`);
  assert.deepEqual(dashed, ['prefix:dir1.', 'prefix:dir1/b.', 'prefix:dir1/c.', 'prefix:dir1/sub/d.', 'prefix:dir1/sub/deeper/e.', 'prefix:dir1/sub/deeper/f.', 'prefix:dir10/h.']);
});

test('hierarchical listing pages: maxresults counts blobs and prefixes together', async (t) => {
  // Goal: a page holds at most maxresults entries (Blob + BlobPrefix), and a marker taken right
  // after a prefix skips that whole virtual directory.
  const { container } = await setup(t);
  const inside = Array.from({ length: 30 }, (_, i) => `big/${String(i).padStart(2, '0')}.txt`);
  await uploadAll(container, ['a.txt', ...inside, 'dir/x.txt', 'm.txt', 'nested/a/b/c.txt', 'z.txt']);

  const pages: Array<{ blobs: string[]; prefixes: string[] }> = [];
  for await (const page of container.listBlobsByHierarchy('/', { includeMetadata: true }).byPage({ maxPageSize: 2 })) {
    pages.push({ blobs: page.segment.blobItems.map((b) => b.name), prefixes: (page.segment.blobPrefixes ?? []).map((p) => p.name) });
  }
  // Name order of the top level: a.txt, big/, dir/, m.txt, nested/, z.txt
  assert.deepEqual(pages, [
    { blobs: ['a.txt'], prefixes: ['big/'] },
    { blobs: ['m.txt'], prefixes: ['dir/'] },
    { blobs: ['z.txt'], prefixes: ['nested/'] },
  ]);

  // Inside one directory, paging works like a flat listing of it.
  const inner: string[] = [];
  let pageCount = 0;
  for await (const page of container.listBlobsByHierarchy('/', { prefix: 'big/' }).byPage({ maxPageSize: 7 })) {
    pageCount++;
    assert.deepEqual(page.segment.blobPrefixes ?? [], []);
    inner.push(...page.segment.blobItems.map((b) => b.name));
  }
  assert.equal(pageCount, 5);
  assert.deepEqual(inner, inside);

  // Nested directories page one level at a time.
  const nested: string[] = [];
  for (const prefix of ['nested/', 'nested/a/', 'nested/a/b/']) {
    for await (const page of container.listBlobsByHierarchy('/', { prefix }).byPage({ maxPageSize: 1 })) {
      nested.push(...(page.segment.blobPrefixes ?? []).map((p) => `prefix:${p.name}`), ...page.segment.blobItems.map((b) => `blob:${b.name}`));
    }
  }
  assert.deepEqual(nested, ['prefix:nested/a/', 'prefix:nested/a/b/', 'blob:nested/a/b/c.txt']);
});

test('names with spaces, unicode, "+", "%" and other reserved characters round-trip', async (t) => {
  // Goal: the server decodes percent-encoded paths into the exact names the client meant, signs
  // against the raw path, and lists the names back unchanged (spec §1, §4.1).
  const { container } = await setup(t);
  const names = [
    'my file.txt',
    'a+b.txt',
    '100%.txt',
    'literal%20not-a-space.txt',
    'ünïcødé/日本語 ファイル.txt',
    'emoji 🚀/launch.txt',
    'semi;colon=eq&amp.txt',
    'hash#and?question.txt',
    "quote's \"double\".txt",
    'tab\tand~tilde!(paren)*.txt',
    'trailing space .txt',
    'dir with space/inner+plus/leaf%25.txt',
  ];
  await uploadAll(container, names);

  for (const name of names) {
    const blob = container.getBlobClient(name);
    assert.equal((await blob.downloadToBuffer()).toString(), name, `content of ${JSON.stringify(name)}`);
    assert.equal((await blob.getProperties()).contentLength, Buffer.byteLength(name));
  }
  const listed: string[] = [];
  for await (const blob of container.listBlobsFlat()) listed.push(blob.name);
  assert.deepEqual(listed, [...names].sort(ordinal));

  // '+' is a plus, never a space; '%20' inside a name stays literal.
  await expectAzureError(container.getBlobClient('a b.txt').getProperties(), 404, 'BlobNotFound');
  await expectAzureError(container.getBlobClient('literal not-a-space.txt').getProperties(), 404, 'BlobNotFound');

  assert.deepEqual(await level(container, 'ünïcødé/'), { blobs: ['ünïcødé/日本語 ファイル.txt'], prefixes: [] });
  assert.deepEqual(await level(container, 'dir with space/'), { blobs: [], prefixes: ['dir with space/inner+plus/'] });
  const plusPrefix: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix: 'a+' })) plusPrefix.push(blob.name);
  assert.deepEqual(plusPrefix, ['a+b.txt'], 'a "+" in the prefix query parameter is a plus');

  // Deleting by an escaped name removes exactly that blob.
  await container.getBlobClient('100%.txt').delete();
  await container.getBlobClient('hash#and?question.txt').delete();
  const after: string[] = [];
  for await (const blob of container.listBlobsFlat()) after.push(blob.name);
  assert.deepEqual(after, names.filter((n) => n !== '100%.txt' && n !== 'hash#and?question.txt').sort(ordinal));
});

test('listing a missing container → 404 ContainerNotFound', async (t) => {
  // Goal: List Blobs on a container that does not exist is an error, not an empty list.
  const { srv } = await setup(t);
  const missing = srv.serviceClient.getContainerClient('missing');
  await expectAzureError(missing.listBlobsFlat().byPage().next(), 404, 'ContainerNotFound');
  await expectAzureError(missing.listBlobsByHierarchy('/').byPage().next(), 404, 'ContainerNotFound');
});

async function level(container: ContainerClient, prefix: string): Promise<{ blobs: string[]; prefixes: string[] }> {
  const blobs: string[] = [];
  const prefixes: string[] = [];
  for await (const item of container.listBlobsByHierarchy('/', { prefix })) {
    if (item.kind === 'prefix') prefixes.push(item.name);
    else blobs.push(item.name);
  }
  return { blobs, prefixes };
}

test('every listed value survives the SDK\'s XML parser: escaping, unicode, control characters, metadata, headers, history', async (t) => {
  // Goal: List Blobs writes its XML by hand (render.ts, one template literal per entry), so prove
  // that the SDK reads back exactly what Get Blob Properties reports, for values that need XML
  // escaping, non-ASCII text, a name XML cannot carry (sent percent-encoded with Encoded="true"),
  // and the history entries (snapshots, versions, soft-deleted) in flat and hierarchical listings.
  const { srv, container } = await setup(t);
  await srv.nimbus.api.setDataProtection('devstoreaccount1', { versioning: true, deleteRetention: { enabled: true, days: 7, allowPermanentDelete: false } });
  const names = ['a&b<c>"d\'e.txt', 'ünïcødé/文件 😀.txt', 'ctl\u0001char\u001fname', 'dir/x&y/z.txt', 'plain.txt'];
  const metadata = { amp: 'x&y', angle: '<tag attr="v">', quote: 'it\'s "quoted"', spaces: 'a  &  <b>' };
  const headers = {
    blobContentType: 'text/plain; charset="utf-8" & more', blobContentEncoding: 'gzip', blobContentLanguage: 'en-GB',
    blobCacheControl: 'max-age=<1>', blobContentDisposition: 'attachment; filename="a&b.txt"',
  };
  for (const name of names) await container.getBlockBlobClient(name).upload(name, Buffer.byteLength(name), { metadata, blobHTTPHeaders: headers });
  await container.getBlockBlobClient('plain.txt').createSnapshot({ metadata: { snap: '<1>' } });
  await container.getBlockBlobClient('plain.txt').upload('v2', 2);
  await container.getBlockBlobClient('a&b<c>"d\'e.txt').delete();

  // A listing sends an empty element for a header never set; Get Blob Properties omits the header.
  const orNone = (value: string | undefined): string | undefined => (value === '' ? undefined : value);
  const listed = [];
  for await (const item of container.listBlobsFlat({ includeMetadata: true })) listed.push(item);
  assert.deepEqual(listed.map((b) => b.name), names.filter((n) => !n.startsWith('a&b')).sort(ordinal));
  for (const item of listed) {
    const props = await container.getBlobClient(item.name).getProperties();
    assert.equal(item.properties.etag.replace(/"/g, ''), props.etag?.replace(/"/g, ''), `etag of ${JSON.stringify(item.name)}`);
    assert.equal(item.properties.lastModified?.getTime(), props.lastModified?.getTime());
    assert.equal(item.properties.createdOn?.getTime(), props.createdOn?.getTime());
    assert.equal(item.properties.contentLength, props.contentLength);
    assert.equal(item.properties.contentType, props.contentType);
    assert.equal(orNone(item.properties.contentEncoding), props.contentEncoding);
    assert.equal(orNone(item.properties.contentLanguage), props.contentLanguage);
    assert.equal(orNone(item.properties.cacheControl), props.cacheControl);
    assert.equal(orNone(item.properties.contentDisposition), props.contentDisposition);
    assert.deepEqual(item.properties.contentMD5, props.contentMD5);
    assert.equal(item.properties.blobType, 'BlockBlob');
    assert.equal(item.properties.accessTier, 'Hot');
    assert.equal(item.properties.leaseState, 'available');
    assert.equal(item.versionId, props.versionId);
    assert.equal(item.isCurrentVersion, true);
    if (item.name === 'plain.txt') assert.equal(Object.keys(item.metadata ?? {}).length, 0, 'an empty <Metadata> element');
    else assert.deepEqual(item.metadata, metadata);
  }
  const tricky = listed.find((b) => b.name.startsWith('ünïcødé'));
  assert.equal(tricky?.properties.contentType, headers.blobContentType);
  assert.equal(tricky?.properties.contentDisposition, headers.blobContentDisposition);
  assert.equal(tricky?.properties.cacheControl, headers.blobCacheControl);

  // History: the snapshot keeps its own metadata, the overwrite left a version, the delete a deleted version.
  const history = [];
  for await (const item of container.listBlobsFlat({ includeMetadata: true, includeSnapshots: true, includeVersions: true, includeDeleted: true })) history.push(item);
  const plain = history.filter((b) => b.name === 'plain.txt');
  assert.deepEqual(plain.map((b) => [Boolean(b.snapshot), b.isCurrentVersion === true]), [[true, false], [false, false], [false, false], [false, true]]);
  assert.deepEqual(plain[0]?.metadata, { snap: '<1>' });
  const deleted = history.filter((b) => b.name === names[0]);
  assert.ok(deleted.length > 0 && deleted.every((b) => b.isCurrentVersion !== true), 'the deleted name has only previous versions');
  assert.deepEqual(deleted[0]?.metadata, metadata);

  // Hierarchy: prefixes and blobs with escaped and non-ASCII names, at two levels.
  assert.deepEqual(await level(container, ''), { blobs: ['ctl\u0001char\u001fname', 'plain.txt'], prefixes: ['dir/', 'ünïcødé/'] });
  assert.deepEqual(await level(container, 'dir/'), { blobs: [], prefixes: ['dir/x&y/'] });
  assert.deepEqual(await level(container, 'ünïcødé/'), { blobs: ['ünïcødé/文件 😀.txt'], prefixes: [] });
});
