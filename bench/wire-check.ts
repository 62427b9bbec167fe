// Proves the benchmark's hand-rolled client speaks the same wire as @azure/storage-blob: each operation the
// benchmark sends is done once with bench/blob-ops.ts and checked through the SDK, and the other way round.
// If the server accepts our signatures and the SDK sees what we wrote, the benchmark measures real work.
//
//   node --import tsx bench/wire-check.ts                 against Azurite (the reference)
//   node --import tsx bench/wire-check.ts --only nimbus   against Nimbus

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { createContainer, getBlob, listBlobsPage, putBlock, putBlockBlob, putBlockList } from './blob-ops.js';
import { SignedBlobClient } from './client.js';
import { seededBytes } from './load.js';
import { SERVER_NAMES, startServer, type ServerName } from './servers.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string', default: 'azurite' } } });
  const server = SERVER_NAMES.find((name) => name === values.only);
  if (server === undefined) throw new Error(`--only must be one of ${SERVER_NAMES.join(', ')}`);
  await checkAgainst(server);
}

async function checkAgainst(server: ServerName): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'nimbus-wire-check-'));
  const running = await startServer(server, REPO_ROOT, workDir);
  const client = new SignedBlobClient(running.endpoint, 4);
  try {
    const { host, port, accountName, accountKeyBase64 } = running.endpoint;
    const sdk = new BlobServiceClient(`http://${host}:${port}/${accountName}`, new StorageSharedKeyCredential(accountName, accountKeyBase64));
    const container = sdk.getContainerClient('wire-check');
    await check('Create Container', async () => {
      await createContainer(client, 'wire-check');
      assert.equal(await container.exists(), true);
    });
    await check('Put Blob (bench) → download (SDK)', () => putThenSdkRead(client, container));
    await check('upload (SDK) → Get Blob (bench)', () => sdkWriteThenGet(client, container));
    await check('Put Block ×3 + Put Block List (bench) → block list and download (SDK)', () => blocksThenSdkRead(client, container));
    await check('List Blobs with marker (bench) = listBlobsFlat (SDK)', () => listMatchesSdk(client, container));
  } finally {
    client.close();
    await running.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function putThenSdkRead(client: SignedBlobClient, container: ContainerClient): Promise<void> {
  const body = seededBytes(4096, 11);
  await putBlockBlob(client, 'wire-check', 'put-by-bench', body);
  const downloaded = await container.getBlockBlobClient('put-by-bench').downloadToBuffer();
  assert.ok(downloaded.equals(body), 'SDK read different bytes');
}

async function sdkWriteThenGet(client: SignedBlobClient, container: ContainerClient): Promise<void> {
  const body = seededBytes(10_000, 12);
  await container.getBlockBlobClient('put-by-sdk').upload(body, body.length);
  const chunks: Buffer[] = [];
  const bytes = await getBlob(client, 'wire-check', 'put-by-sdk', { kind: 'stream', onChunk: (chunk) => chunks.push(Buffer.from(chunk)) });
  assert.equal(bytes, body.length);
  assert.ok(Buffer.concat(chunks).equals(body), 'bench read different bytes');
}

async function blocksThenSdkRead(client: SignedBlobClient, container: ContainerClient): Promise<void> {
  const blocks = [seededBytes(1000, 21), seededBytes(2000, 22), seededBytes(3000, 23)];
  const ids = blocks.map((_, index) => Buffer.from(`block-${String(index).padStart(6, '0')}`).toString('base64'));
  for (const [index, block] of blocks.entries()) await putBlock(client, 'wire-check', 'blocks', ids[index] ?? '', block);
  await putBlockList(client, 'wire-check', 'blocks', ids);
  const blob = container.getBlockBlobClient('blocks');
  const list = await blob.getBlockList('committed');
  assert.deepEqual(list.committedBlocks?.map((block) => block.name), ids);
  assert.ok((await blob.downloadToBuffer()).equals(Buffer.concat(blocks)), 'committed blob differs');
}

async function listMatchesSdk(client: SignedBlobClient, container: ContainerClient): Promise<void> {
  const sdkNames: string[] = [];
  for await (const blob of container.listBlobsFlat()) sdkNames.push(blob.name);
  let marker: string | undefined;
  let listed = 0;
  let pages = 0;
  do {
    const page = await listBlobsPage(client, 'wire-check', 2, marker);
    listed += page.blobCount;
    pages += 1;
    marker = page.nextMarker;
  } while (marker !== undefined);
  assert.equal(listed, sdkNames.length);
  assert.equal(pages, Math.ceil(sdkNames.length / 2));
}

async function check(name: string, body: () => Promise<void>): Promise<void> {
  await body();
  process.stdout.write(`ok  ${name}\n`);
}

await main();
