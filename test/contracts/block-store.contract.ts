// The BlockStore contract: every implementation (extent files today, S3-compatible later).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createHash } from 'node:crypto';
import type { BlockStore } from '../../src/engine/blocks/block-store.js';
import { patternBytes } from '../helpers/azure-assert.js';

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

  withStore('long writes, several at once, known and unknown length, read back whole', async ({ blocks }) => {
    // Long enough for the extent store's early sync rounds (every 4 MiB), from concurrent writers.
    const writes = [
      { body: patternBytes(9 * 1024 * 1024 + 3, 1), knownLength: true },
      { body: patternBytes(10 * 1024 * 1024, 2), knownLength: true },
      { body: patternBytes(4 * 1024 * 1024 + 1, 3), knownLength: true },
      { body: patternBytes(9 * 1024 * 1024 + 3, 4), knownLength: false },
    ];
    const written = await Promise.all(writes.map(async ({ body, knownLength }) => ({
      body,
      result: await blocks.write(Readable.from(pieces(body, knownLength ? 65536 : 100_000)), knownLength ? body.length : undefined),
    })));
    await blocks.sync();
    for (const [index, { body, result }] of written.entries()) {
      result.unpin();
      assert.equal(result.md5, md5(body));
      assert.ok((await buffer(blocks.read(result.chunks, 0, body.length))).equals(body), `body ${index} reads back`);
    }
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

  withStore('writeTo delivers the bytes in order and reuses a buffer only after its write callback', async ({ blocks }) => {
    // Goal: the reused-buffer path of a streamed GET never overwrites bytes the sink has not flushed.
    // Method: a sink that copies each chunk on write and calls back a few turns later, checking then
    // that the chunk it was handed still holds those bytes.
    const data = Buffer.from(Array.from({ length: 5 * 1024 * 1024 + 123 }, (_, i) => (i * 7 + (i >> 12)) % 253));
    const written = await blocks.write(Readable.from(pieces(data, 65536)), data.length);
    written.unpin();
    const stream = blocks.read(written.chunks, 1000, data.length);
    if (!stream.writeTo) return; // optional for a backend
    const received: Buffer[] = [];
    let overwritten = 0;
    const sink = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        const copy = Buffer.from(chunk);
        received.push(copy);
        setTimeout(() => {
          if (!chunk.equals(copy)) overwritten++;
          callback();
        }, 1);
      },
    });
    const closed = new Promise((resolve) => stream.once('close', resolve));
    await stream.writeTo(sink);
    await closed;
    assert.equal(overwritten, 0);
    assert.ok(received.length > 4, 'more pieces than buffers in the ring');
    assert.deepEqual(Buffer.concat(received), data.subarray(1000));
    assert.equal(sink.writableFinished, true);
  });

  withStore('writeTo rejects and closes the stream when the sink is destroyed mid-way', async ({ blocks }) => {
    const data = Buffer.alloc(4 * 1024 * 1024, 9);
    const written = await blocks.write(Readable.from(pieces(data, 65536)), data.length);
    written.unpin();
    const stream = blocks.read(written.chunks, 0, data.length);
    if (!stream.writeTo) return;
    let chunks = 0;
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        if (++chunks === 2) sink.destroy(Object.assign(new Error('client went away'), { code: 'ECONNRESET' }));
        else callback();
      },
    });
    sink.on('error', () => undefined);
    const closed = new Promise((resolve) => stream.once('close', resolve));
    await assert.rejects(stream.writeTo(sink), { code: 'ECONNRESET' });
    await closed;
  });
}
