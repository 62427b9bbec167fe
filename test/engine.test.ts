// Engine tests: the MetadataStore and BlockStore contracts run against the embedded backends,
// and the garbage collector reclaims space without losing live bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createHash } from 'node:crypto';
import { SqliteMetaStore } from '../src/engine/meta/sqlite-meta-store.js';
import { ExtentBlockStore } from '../src/engine/blocks/extent-block-store.js';
import { collectGarbage } from '../src/engine/gc.js';
import { metaStoreContract } from './contracts/meta-store.contract.js';
import { blockStoreContract } from './contracts/block-store.contract.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'nimbus-engine-'));

metaStoreContract('SqliteMetaStore', async () => {
  const dir = tempDir();
  const meta = new SqliteMetaStore({ path: join(dir, 'meta.sqlite') });
  return { meta, cleanup: async () => { await meta.close(); rmSync(dir, { recursive: true, force: true }); } };
});

blockStoreContract('ExtentBlockStore', async () => {
  const dir = tempDir();
  const blocks = new ExtentBlockStore({ dir, extentMaxBytes: 1024 * 1024 });
  return {
    blocks,
    reopen: async () => { await blocks.close(); return new ExtentBlockStore({ dir, extentMaxBytes: 1024 * 1024 }); },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

test('garbage collection compacts mostly-dead extents and retires empty ones, keeping live bytes readable', async () => {
  // Goal: after deleting most blocks, disk use falls and surviving blocks read back identical.
  const dir = tempDir();
  const meta = new SqliteMetaStore({ path: join(dir, 'meta.sqlite') });
  const blocks = new ExtentBlockStore({ dir: join(dir, 'blocks'), extentMaxBytes: 256 * 1024 });
  try {
    const bucketId = await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} }));
    const payloads = Array.from({ length: 40 }, (_, i) => Buffer.alloc(20 * 1024, i));
    for (const [i, payload] of payloads.entries()) {
      const written = await blocks.write(Readable.from([payload]), payload.length);
      await blocks.sync();
      await meta.write(async (tx) => {
        const content = await tx.createContent([{ label: 'b', blockId: await tx.createBlock(written.chunks) }]);
        await tx.putEntry({ bucketId, name: `n${i}`, sub: '~', tag: 0, contentId: content, sizeBytes: payload.length, attrs: {} });
      });
      written.unpin();
    }
    // Seal the last extent by forcing a new one, then drop 3 of every 4 entries.
    (await blocks.write(Readable.from([Buffer.alloc(256 * 1024)]), 256 * 1024)).unpin();
    await meta.write(async (tx) => {
      for (let i = 0; i < payloads.length; i++) if (i % 4 !== 0) await tx.deleteEntry(bucketId, `n${i}`, '~');
    });
    const before = blocks.physicalBytes();
    const report = await collectGarbage(meta, blocks);
    assert.ok(report.extentsCompacted > 0, 'some extent was compacted');
    assert.ok(blocks.physicalBytes() < before, `disk use fell (${before} → ${blocks.physicalBytes()})`);
    for (let i = 0; i < payloads.length; i += 4) {
      const chunks = await meta.read(async (tx) => {
        const entry = await tx.getEntry(bucketId, `n${i}`, '~');
        const parts = await tx.getContent(entry?.contentId ?? -1);
        return tx.getChunks(parts[0]?.blockId ?? -1);
      });
      const bytes = await buffer(blocks.read(chunks, 0, 20 * 1024));
      assert.equal(createHash('md5').update(bytes).digest('hex'), createHash('md5').update(payloads[i] ?? Buffer.alloc(0)).digest('hex'));
    }
  } finally {
    await meta.close();
    await blocks.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('under continuous writes the WAL is checkpointed off-thread and rewound, so it stays bounded', async () => {
  // Goal: with SQLite's auto-checkpoint off (wal-checkpointer.ts), a steady stream of group-committed
  // writes must not grow the log without bound, and every write must read back.
  // Method: a small rewind threshold (64 pages = 256 KiB), ~32 MiB of inline bytes written by 16
  // concurrent writers without pause; the WAL file is sampled after every round. Passes run every
  // 32 commits, so the log may reach ~32 commits' worth (~6-9 MiB here) before it is rewound;
  // without rewinding it grows with everything written (~50 MiB).
  const dir = tempDir();
  const path = join(dir, 'meta.sqlite');
  const meta = new SqliteMetaStore({ path, durability: 'process', walRestartFrames: 64 });
  try {
    const bucketId = await meta.write((tx) => tx.insertBucket({ scope: 's', name: 'b', createdMs: 1, deletedMs: null, attrs: {} }));
    const payload = (i: number) => Buffer.alloc(8 * 1024, i % 251);
    let walBytesMax = 0;
    for (let round = 0; round < 256; round++) {
      await Promise.all(Array.from({ length: 16 }, (_, k) => meta.write(async (tx) => {
        const i = round * 16 + k;
        const blockId = await tx.createBlock([{ inline: payload(i), length: payload(i).length }]);
        const contentId = await tx.createContent([{ label: 'b', blockId }]);
        await tx.putEntry({ bucketId, name: `n${i}`, sub: '~', tag: 0, contentId, sizeBytes: payload(i).length, attrs: {} });
      })));
      walBytesMax = Math.max(walBytesMax, statSync(`${path}-wal`).size);
    }
    assert.ok(walBytesMax < 16 * 1024 * 1024, `WAL peaked at ${walBytesMax} bytes`);
    for (const i of [0, 777, 4095]) {
      const entry = await meta.read((tx) => tx.getEntry(bucketId, `n${i}`, '~'));
      assert.ok(entry?.contentId != null, `n${i} exists`);
      const pieces = await meta.read((tx) => tx.getContentPieces(entry.contentId ?? 0));
      assert.deepEqual(Buffer.concat(pieces.map((p) => ('inline' in p ? p.inline : Buffer.alloc(0)))), payload(i));
    }
  } finally {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
