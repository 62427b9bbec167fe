// Page engine unit tests: MetaPageStore over SqliteMetaStore + ExtentBlockStore. The model test
// (pages-model.test.ts) covers random sequences; these pin the semantics one rule at a time
// and check what the model cannot see: costs, persistence, and bytes reclaimed by the collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { SqliteMetaStore } from '../src/engine/meta/sqlite-meta-store.js';
import { ExtentBlockStore } from '../src/engine/blocks/extent-block-store.js';
import { collectGarbage } from '../src/engine/gc.js';
import type { Piece } from '../src/engine/blocks/block-store.js';
import { MetaPageStore } from '../src/engine/pages/meta-page-store.js';
import { spansToBuffer } from '../src/engine/pages/page-bytes.js';
import {
  PageError, objectSource as live, viewSource as at,
  type ByteRange, type PageErrorCode, type PageObjectId, type PageSource,
} from '../src/engine/pages/page-store.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const TIB = 1024 * 1024 * MIB;

interface Env {
  meta: SqliteMetaStore;
  blocks: ExtentBlockStore;
  pages: MetaPageStore;
  dir: string;
  /** Stores bytes in extent files and writes them at start. */
  put(objectId: PageObjectId, start: number, data: Buffer): Promise<void>;
  bytes(source: PageSource, range: ByteRange): Promise<Buffer>;
  count(sql: string): number;
}

async function withEnv(body: (env: Env) => Promise<void>, extentMaxBytes = 1 * MIB): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-pages-'));
  let meta = new SqliteMetaStore({ path: join(dir, 'meta.sqlite'), durability: 'process' });
  const blocks = new ExtentBlockStore({ dir: join(dir, 'blocks'), extentMaxBytes, durability: 'process' });
  const pages = new MetaPageStore();
  const env: Env = {
    get meta() { return meta; },
    set meta(value) { meta = value; },
    blocks, pages, dir,
    async put(objectId, start, data) {
      const written = await blocks.write(Readable.from([data]), data.length);
      await blocks.sync();
      try {
        await meta.write((tx) => pages.write(tx, objectId, start, written.chunks));
      } finally {
        written.unpin();
      }
    },
    async bytes(source, range) {
      return spansToBuffer(blocks, await meta.read((tx) => pages.read(tx, source, range)));
    },
    count(sql) {
      const raw = new Database(join(dir, 'meta.sqlite'), { readonly: true });
      try {
        return (raw.prepare(sql).get() as { n: number }).n;
      } finally {
        raw.close();
      }
    },
  };
  try {
    await body(env);
  } finally {
    await meta.close();
    await blocks.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fill = (length: number, byte: number) => Buffer.alloc(length, byte);
const inline = (data: Buffer): Piece[] => [{ inline: data, length: data.length }];
const isCode = (code: PageErrorCode) => (error: unknown) => error instanceof PageError && error.code === code;

test('writes land where asked, unwritten pages read as zeros, valid ranges coalesce', async () => {
  await withEnv(async ({ meta, pages, put, bytes }) => {
    const obj = await meta.write((tx) => pages.create(tx, 64 * KIB));
    await put(obj, 0, fill(1024, 1));
    await put(obj, 1024, fill(512, 2)); // adjacent: one valid range
    await put(obj, 8192, fill(4096, 3));
    await put(obj, 9216, fill(512, 4)); // overwrite inside: the row splits around it
    assert.deepEqual(await meta.read((tx) => pages.validRanges(tx, live(obj))), [{ start: 0, end: 1536 }, { start: 8192, end: 12288 }]);
    assert.deepEqual(await meta.read((tx) => pages.validRanges(tx, live(obj), { start: 1000, end: 9000 })), [
      { start: 1000, end: 1536 }, { start: 8192, end: 9000 },
    ]);
    const expected = Buffer.alloc(64 * KIB);
    expected.fill(1, 0, 1024).fill(2, 1024, 1536).fill(3, 8192, 12288).fill(4, 9216, 9728);
    assert.ok((await bytes(live(obj), { start: 0, end: 64 * KIB })).equals(expected));
    assert.ok((await bytes(live(obj), { start: 1000, end: 9300 })).equals(expected.subarray(1000, 9300)), 'unaligned read');
    const spans = await meta.read((tx) => pages.read(tx, live(obj), { start: 0, end: 16384 }));
    assert.deepEqual(spans.map((s) => [s.kind, s.start, s.end]), [
      ['data', 0, 1536], ['zeros', 1536, 8192], ['data', 8192, 12288], ['zeros', 12288, 16384],
    ]);
  });
});

test('writes longer than one range row, overwritten across the row boundary, read back exactly', async () => {
  await withEnv(async ({ meta, pages, put, bytes }) => {
    const obj = await meta.write((tx) => pages.create(tx, 16 * MIB));
    const big = Buffer.alloc(9 * MIB);
    for (let i = 0; i < big.length; i += 512) big.writeUInt32LE(i, i);
    await put(obj, 512, big); // crosses extent files (1 MiB each) and 4 MiB row limits
    await put(obj, 4 * MIB - 1024, fill(4096, 7));
    const expected = Buffer.alloc(16 * MIB);
    big.copy(expected, 512);
    expected.fill(7, 4 * MIB - 1024, 4 * MIB + 3072);
    assert.ok((await bytes(live(obj), { start: 0, end: 16 * MIB })).equals(expected));
    assert.ok((await bytes(live(obj), { start: 4 * MIB - 700, end: 8 * MIB + 900 })).equals(expected.subarray(4 * MIB - 700, 8 * MIB + 900)));
    assert.deepEqual(await meta.read((tx) => pages.validRanges(tx, live(obj))), [{ start: 512, end: 9 * MIB + 512 }]);
  });
});

test('misaligned, empty or out-of-bounds ranges are rejected and change nothing', async () => {
  await withEnv(async ({ meta, pages }) => {
    const obj = await meta.write((tx) => pages.create(tx, 8192));
    const cases: Array<() => Promise<unknown>> = [
      () => meta.write((tx) => pages.write(tx, obj, 100, inline(fill(512, 1)))),
      () => meta.write((tx) => pages.write(tx, obj, 0, inline(fill(500, 1)))),
      () => meta.write((tx) => pages.write(tx, obj, 7680, inline(fill(1024, 1)))),
      () => meta.write((tx) => pages.write(tx, obj, 0, [])),
      () => meta.write((tx) => pages.clear(tx, obj, { start: 512, end: 512 })),
      () => meta.write((tx) => pages.clear(tx, obj, { start: 0, end: 8704 })),
      () => meta.write((tx) => pages.resize(tx, obj, 1000)),
      () => meta.read((tx) => pages.read(tx, live(obj), { start: 0, end: 8193 })),
    ];
    for (const attempt of cases) await assert.rejects(attempt(), isCode('invalid-range'));
    assert.deepEqual(await meta.read((tx) => pages.validRanges(tx, live(obj))), []);
    await assert.rejects(meta.write((tx) => pages.write(tx, 999 as PageObjectId, 0, inline(fill(512, 1)))), isCode('not-found'));
  });
});

test('a view keeps its content through later writes, clears and resizes', async () => {
  await withEnv(async ({ meta, pages, put, bytes }) => {
    const obj = await meta.write((tx) => pages.create(tx, 16 * KIB));
    await put(obj, 0, fill(8192, 1));
    const v1 = await meta.write((tx) => pages.freeze(tx, obj));
    await put(obj, 2048, fill(1024, 2));
    await meta.write((tx) => pages.clear(tx, obj, { start: 4096, end: 6144 }));
    await meta.write((tx) => pages.resize(tx, obj, 7168)); // drops [7168, 8192)
    await meta.write((tx) => pages.resize(tx, obj, 32 * KIB)); // grows with unwritten pages
    assert.ok((await bytes(at(v1), { start: 0, end: 16 * KIB })).equals(Buffer.concat([fill(8192, 1), fill(8192, 0)])));
    assert.deepEqual(await meta.read((tx) => pages.validRanges(tx, at(v1))), [{ start: 0, end: 8192 }]);
    assert.deepEqual(await meta.read((tx) => pages.describe(tx, at(v1))), { lineageId: obj, sizeBytes: 16 * KIB });
    assert.deepEqual(await meta.read((tx) => pages.validRanges(tx, live(obj))), [{ start: 0, end: 4096 }, { start: 6144, end: 7168 }]);
    const now = await bytes(live(obj), { start: 0, end: 32 * KIB });
    const expected = Buffer.alloc(32 * KIB).fill(1, 0, 4096).fill(2, 2048, 3072).fill(1, 6144, 7168);
    assert.ok(now.equals(expected));
  });
});

test('diff: rewrites count as written even with identical bytes; cleared means valid before, invalid after', async () => {
  await withEnv(async ({ meta, pages, put }) => {
    const obj = await meta.write((tx) => pages.create(tx, 64 * KIB));
    await put(obj, 0, fill(4096, 1));
    await put(obj, 16384, fill(4096, 2));
    const v1 = await meta.write((tx) => pages.freeze(tx, obj));
    await put(obj, 0, fill(1024, 1)); // identical bytes: still written
    await meta.write((tx) => pages.clear(tx, obj, { start: 16384, end: 17408 })); // was valid: cleared
    await meta.write((tx) => pages.clear(tx, obj, { start: 32768, end: 40960 })); // was empty: not reported
    await put(obj, 49152, fill(512, 3)); // written then cleared, empty before: not reported
    await meta.write((tx) => pages.clear(tx, obj, { start: 49152, end: 49664 }));
    await meta.write((tx) => pages.clear(tx, obj, { start: 18432, end: 19456 })); // cleared then rewritten: written
    await put(obj, 18432, fill(512, 4));
    const v2 = await meta.write((tx) => pages.freeze(tx, obj));
    await meta.write((tx) => pages.resize(tx, obj, 2048)); // shrink: the rest of [0,4096) and the tail are cleared
    const expected12 = {
      written: [{ start: 0, end: 1024 }, { start: 18432, end: 18944 }],
      cleared: [{ start: 16384, end: 17408 }, { start: 18944, end: 19456 }],
    };
    assert.deepEqual(await meta.read((tx) => pages.diff(tx, v1, at(v2))), expected12);
    assert.deepEqual(await meta.read((tx) => pages.diff(tx, v2, live(obj))), { written: [], cleared: [] }, 'shrink clips to the newer size');
    await meta.write((tx) => pages.resize(tx, obj, 64 * KIB));
    assert.deepEqual(await meta.read((tx) => pages.diff(tx, v2, live(obj))), {
      written: [], cleared: [{ start: 2048, end: 4096 }, { start: 17408, end: 18944 }, { start: 19456, end: 20480 }],
    }, 'pages dropped by the shrink and not rewritten read as cleared');
    assert.deepEqual(await meta.read((tx) => pages.diff(tx, v1, at(v1))), { written: [], cleared: [] });
    await assert.rejects(meta.read((tx) => pages.diff(tx, v2, at(v1))), isCode('older-is-newer'));
    const other = await meta.write((tx) => pages.create(tx, 64 * KIB));
    const foreign = await meta.write((tx) => pages.freeze(tx, other));
    await assert.rejects(meta.read((tx) => pages.diff(tx, foreign, at(v2))), isCode('different-lineage'));
    await assert.rejects(meta.read((tx) => pages.diff(tx, v1, live(other))), isCode('different-lineage'));
  });
});

test('branch: a new object from a view shares its bytes, then diverges; diffs do not cross lineages', async () => {
  await withEnv(async ({ meta, pages, put, bytes, count }) => {
    const disk = await meta.write((tx) => pages.create(tx, 1 * MIB));
    await put(disk, 0, fill(64 * KIB, 1));
    await put(disk, 512 * KIB, fill(64 * KIB, 2));
    const snap = await meta.write((tx) => pages.freeze(tx, disk));
    await put(disk, 0, fill(64 * KIB, 9));
    const chunksBefore = count('SELECT COUNT(*) AS n FROM chunks');
    const restored = await meta.write((tx) => pages.branch(tx, at(snap)));
    assert.equal(count('SELECT COUNT(*) AS n FROM chunks'), chunksBefore, 'no bytes copied');
    assert.ok((await bytes(live(restored), { start: 0, end: 64 * KIB })).equals(fill(64 * KIB, 1)));
    await put(restored, 512 * KIB, fill(512, 5));
    assert.ok((await bytes(at(snap), { start: 512 * KIB, end: 513 * KIB })).equals(fill(1024, 2)), 'the source view is untouched');
    await assert.rejects(meta.read((tx) => pages.diff(tx, snap, live(restored))), isCode('different-lineage'));
    const first = await meta.write((tx) => pages.freeze(tx, restored));
    assert.deepEqual(await meta.read((tx) => pages.validRanges(tx, at(first))), [
      { start: 0, end: 64 * KIB }, { start: 512 * KIB, end: 576 * KIB },
    ]);
    // Dropping the source disk and view leaves the branch whole.
    await meta.write((tx) => pages.dropObject(tx, disk));
    await meta.write((tx) => pages.dropView(tx, snap));
    assert.ok((await bytes(live(restored), { start: 0, end: 64 * KIB })).equals(fill(64 * KIB, 1)));
  });
});

test('an object without views keeps no history; dropping views keeps exactly what the others need', async () => {
  await withEnv(async ({ meta, pages, put, count, bytes }) => {
    const obj = await meta.write((tx) => pages.create(tx, 1 * MIB));
    for (let i = 0; i < 50; i++) await put(obj, (i % 5) * 4096, fill(8192, i));
    assert.equal(count('SELECT COUNT(*) AS n FROM page_changes'), 0);
    assert.equal(count('SELECT COUNT(*) AS n FROM page_ranges'), count('SELECT COUNT(*) AS n FROM page_ranges WHERE died = 9007199254740991'));
    // A at seq s; X written at s+1; B at s+1; X overwritten; dropping B frees X's old row.
    const a = await meta.write((tx) => pages.freeze(tx, obj));
    await put(obj, 100 * KIB, fill(512, 1));
    const b = await meta.write((tx) => pages.freeze(tx, obj));
    await put(obj, 100 * KIB, fill(512, 2));
    const dead = () => count('SELECT COUNT(*) AS n FROM page_ranges WHERE died < 9007199254740991');
    const before = dead();
    await meta.write((tx) => pages.dropView(tx, b));
    assert.equal(dead(), before - 1, 'the row only B saw is gone');
    assert.ok((await bytes(at(a), { start: 100 * KIB, end: 100 * KIB + 512 })).equals(fill(512, 0)));
    await meta.write((tx) => pages.dropView(tx, a));
    assert.equal(dead(), 0);
    assert.equal(count('SELECT COUNT(*) AS n FROM page_changes'), 0);
  });
});

test('dropping views and objects releases their bytes to the garbage collector', async () => {
  await withEnv(async ({ meta, pages, blocks, put, bytes, count }) => {
    const obj = await meta.write((tx) => pages.create(tx, 4 * MIB));
    await put(obj, 0, fill(1 * MIB, 1)); // extents are 256 KiB: 4 files
    const view = await meta.write((tx) => pages.freeze(tx, obj));
    await put(obj, 0, fill(1 * MIB, 2)); // the view still pins the first MiB
    await put(obj, 2 * MIB, fill(256 * KIB, 3));
    const liveBytes = () => count('SELECT COALESCE(SUM(live_bytes), 0) AS n FROM extents');
    assert.equal(liveBytes(), 2 * MIB + 256 * KIB);
    await meta.write((tx) => pages.dropObject(tx, obj)); // the view outlives its object
    assert.ok((await bytes(at(view), { start: 0, end: 1 * MIB })).equals(fill(1 * MIB, 1)));
    assert.equal(liveBytes(), 1 * MIB);
    await meta.write((tx) => pages.dropView(tx, view));
    assert.equal(liveBytes(), 0);
    for (const table of ['page_lineages', 'page_views', 'page_ranges', 'page_changes', 'blocks', 'chunks']) {
      assert.equal(count(`SELECT COUNT(*) AS n FROM ${table}`), 0, `${table} is empty`);
    }
    (await blocks.write(Readable.from([fill(256 * KIB, 0)]), 256 * KIB)).unpin(); // seal the last extent
    const before = blocks.physicalBytes();
    const report = await collectGarbage(meta, blocks);
    assert.ok(report.extentsRetired >= 4, `retired ${report.extentsRetired} extents`);
    assert.ok(blocks.physicalBytes() < before);
  }, 256 * KIB);
});

test('pages, views and history survive a restart', async () => {
  await withEnv(async (env) => {
    const obj = await env.meta.write((tx) => env.pages.create(tx, 1 * MIB));
    await env.put(obj, 4096, fill(8192, 5));
    const view = await env.meta.write((tx) => env.pages.freeze(tx, obj));
    await env.meta.write((tx) => env.pages.clear(tx, obj, { start: 4096, end: 8192 }));
    await env.meta.close();
    env.meta = new SqliteMetaStore({ path: join(env.dir, 'meta.sqlite'), durability: 'process' });
    assert.deepEqual(await env.meta.read((tx) => env.pages.diff(tx, view, live(obj))), { written: [], cleared: [{ start: 4096, end: 8192 }] });
    assert.ok((await env.bytes(at(view), { start: 4096, end: 12288 })).equals(fill(8192, 5)));
  });
});

test('a 1 TiB object costs what was written: freeze is constant, a diff costs its changes', async () => {
  await withEnv(async ({ meta, pages, blocks }) => {
    const obj = await meta.write((tx) => pages.create(tx, 1 * TIB));
    const written = await blocks.write(Readable.from([fill(64 * KIB, 1)]), 64 * KIB);
    const chunk = written.chunks;
    await meta.write(async (tx) => {
      for (let i = 0; i < 2000; i++) await pages.write(tx, obj, i * 512 * MIB, chunk);
    });
    written.unpin();
    const v1 = await meta.write((tx) => pages.freeze(tx, obj));
    await meta.write(async (tx) => {
      for (let i = 0; i < 1000; i++) {
        const start = i * 1024 * MIB;
        if (i % 4 === 0) await pages.clear(tx, obj, { start: start + 60 * KIB, end: start + 68 * KIB }); // half was valid
        else await pages.write(tx, obj, start + 4 * KIB, chunk);
      }
    });
    const v2 = await meta.write((tx) => pages.freeze(tx, obj));
    const started = performance.now();
    const diff = await meta.read((tx) => pages.diff(tx, v1, at(v2)));
    const elapsedMs = performance.now() - started;
    assert.equal(diff.written.length, 750);
    assert.equal(diff.cleared.length, 250);
    assert.deepEqual(diff.cleared[1], { start: 4 * 1024 * MIB + 60 * KIB, end: 4 * 1024 * MIB + 64 * KIB }, 'only what was valid');
    assert.ok(elapsedMs < 500, `diff of 1,000 changes took ${elapsedMs.toFixed(1)} ms`);
    assert.equal((await meta.read((tx) => pages.validRanges(tx, at(v1)))).length, 2000);
  });
});
