// The BlockStore contract: every implementation (extent files today, S3-compatible later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createHash } from 'node:crypto';
import type { BlockStore } from '../../src/engine/blocks/block-store.js';

interface Opened {
  blocks: BlockStore;
  reopen(): Promise<BlockStore>;
  cleanup(): Promise<void>;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');

function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

export function blockStoreContract(name: string, open: () => Promise<Opened>): void {
  const withStore = (title: string, body: (o: Opened) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const opened = await open();
      try {
        await body(opened);
      } finally {
        await opened.cleanup();
      }
    });

  withStore('known-length writes read back whole and by range, across extent boundaries', async ({ blocks }) => {
    const data = Buffer.from(Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 31) % 251));
    const written = await blocks.write(Readable.from(pieces(data, 65536)), data.length);
    written.unpin();
    assert.equal(written.sizeBytes, data.length);
    assert.equal(written.md5, md5(data));
    assert.ok(written.chunks.length > 1, 'a 3 MiB write crosses 1 MiB extents');
    assert.deepEqual(await buffer(blocks.read(written.chunks, 0, data.length)), data);
    assert.deepEqual(await buffer(blocks.read(written.chunks, 1_000_000, 2_100_000)), data.subarray(1_000_000, 2_100_000));
  });

  withStore('unknown-length writes work and a wrong declared length is refused', async ({ blocks }) => {
    const data = Buffer.alloc(2_500_000, 7);
    const written = await blocks.write(Readable.from(pieces(data, 100_000)), undefined);
    written.unpin();
    assert.equal(written.sizeBytes, data.length);
    assert.deepEqual(await buffer(blocks.read(written.chunks, 0, data.length)), data);
    await assert.rejects(blocks.write(Readable.from([Buffer.alloc(10)]), 11));
    await assert.rejects(blocks.write(Readable.from([Buffer.alloc(12)]), 11));
  });

  withStore('synced data survives reopening the store', async ({ blocks, reopen }) => {
    const data = Buffer.from('durable bytes');
    const written = await blocks.write(Readable.from([data]), data.length);
    await blocks.sync();
    written.unpin();
    const again = await reopen();
    try {
      assert.deepEqual(await buffer(again.read(written.chunks, 0, data.length)), data);
    } finally {
      await again.close();
    }
  });

  withStore('a retired extent stays readable until older read guards are released', async ({ blocks }) => {
    const first = await blocks.write(Readable.from([Buffer.alloc(1024 * 1024, 1)]), 1024 * 1024);
    first.unpin();
    (await blocks.write(Readable.from([Buffer.alloc(10, 2)]), 10)).unpin();
    const extentId = first.chunks[0]?.extentId ?? -1;
    assert.equal(blocks.extents().find((e) => e.extentId === extentId)?.sealed, true);
    const guard = blocks.guardReads();
    blocks.retire(extentId);
    assert.equal((await buffer(blocks.read(first.chunks, 0, 4))).length, 4);
    guard.release();
    assert.equal(blocks.extents().some((e) => e.extentId === extentId), false);
  });
}
