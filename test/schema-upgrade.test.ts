// Goal: a data directory written by an older Nimbus opens, upgrades and reads back byte-identical.
// Method: test/fixtures/meta-v1 was written by Nimbus at schema 1 (commit 695a715), and
// test/fixtures/meta-v2 by Nimbus at schema 2 (commit e87bf2b), both through @azure/storage-blob,
// the same way: container `fixture` with
//   small.txt   4 KiB, inline in metadata, metadata kind=inline
//   large.bin   70 KiB, in an extent file
//   blocks.bin  committed blocks b1 (1000 B, inline) + b2 (66 KiB, extent); b3 (500 B) staged only
//   empty       0 bytes
// Each byte i of a body filled with seed s is (i * 31 + s * 7) & 0xff. A copy of the directory is
// opened by today's code (which migrates it), read through the SDK, written to, and reopened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { startTestServer } from './helpers/server.js';
import { SCHEMA_VERSION } from '../src/engine/meta/sqlite-schema.js';

const FIXTURES = [1, 2].map((version) => ({ version, path: fileURLToPath(new URL(`./fixtures/meta-v${version}/`, import.meta.url)) }));

function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7) & 0xff;
  return bytes;
}

const id = (label: string) => Buffer.from(label).toString('base64');

for (const fixture of FIXTURES) {
  test(`a schema-${fixture.version} data directory upgrades in place and keeps every blob, block and staged block`, () => upgradeAndRead(fixture.path));
}

async function upgradeAndRead(fixturePath: string): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-upgrade-'));
  try {
    cpSync(fixturePath, dataDir, { recursive: true });
    const first = await startTestServer({ dataDir });
    try {
      const container = first.serviceClient.getContainerClient('fixture');
      const small = container.getBlockBlobClient('small.txt');
      assert.deepEqual(await small.downloadToBuffer(), pattern(4096, 1));
      assert.deepEqual((await small.getProperties()).metadata, { kind: 'inline' });
      assert.deepEqual(await container.getBlockBlobClient('large.bin').downloadToBuffer(), pattern(70 * 1024, 2));
      const blocks = container.getBlockBlobClient('blocks.bin');
      assert.deepEqual(await blocks.downloadToBuffer(), Buffer.concat([pattern(1000, 3), pattern(66 * 1024, 4)]));
      assert.deepEqual(await container.getBlockBlobClient('empty').downloadToBuffer(), Buffer.alloc(0));
      // The staged block survived and can still be committed, beside the committed ones.
      const list = await blocks.getBlockList('all');
      assert.deepEqual(list.uncommittedBlocks?.map((b) => b.name), [id('b3')]);
      await blocks.commitBlockList([id('b1'), id('b3')]);
      assert.deepEqual(await blocks.downloadToBuffer(), Buffer.concat([pattern(1000, 3), pattern(500, 5)]));
      // New writes land in the upgraded tables.
      await container.getBlockBlobClient('new.bin').upload(pattern(5000, 6), 5000);
      await container.getBlockBlobClient('large.bin').delete();
    } finally {
      await first.stop();
    }
    const db = new Database(join(dataDir, 'meta.sqlite'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    // Schema 3: the new small blob's bytes sit in its block row, with no chunk row of their own.
    const inline = db.prepare('SELECT size_bytes, (SELECT COUNT(*) FROM chunks c WHERE c.block_id = b.block_id) AS chunk_rows FROM blocks b WHERE data IS NOT NULL').all();
    assert.deepEqual(inline, [{ size_bytes: 5000, chunk_rows: 0 }]);
    db.close();

    const second = await startTestServer({ dataDir });
    try {
      const container = second.serviceClient.getContainerClient('fixture');
      assert.deepEqual(await container.getBlockBlobClient('new.bin').downloadToBuffer(), pattern(5000, 6));
      assert.deepEqual(await container.getBlockBlobClient('small.txt').downloadToBuffer(), pattern(4096, 1));
      const names: string[] = [];
      for await (const blob of container.listBlobsFlat()) names.push(blob.name);
      assert.deepEqual(names, ['blocks.bin', 'empty', 'new.bin', 'small.txt']);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
