// Page engine micro benchmark: `node --import tsx bench/pages.ts` (PAGES_BENCH_DIR to keep data).
//
// Measures, on MetaPageStore over SqliteMetaStore + ExtentBlockStore in a temp dir:
//   - freeze() on a 1 TiB object with 1 GiB written (as 256 × 4 MiB and as 16,384 × 64 KiB
//     writes), next to a 1 MiB object and one with a long history: freeze must not care;
//   - diff() between two views with 1,000 changed ranges (and 10,000, and after 100,000
//     unrelated older changes): it must cost the changes between the views only.
// The written bytes are one stored chunk referenced by every write: metadata (what freeze and
// diff touch) is exactly that of distinct data, without writing a real GiB to disk.
// "in tx" times the engine call inside a transaction; "commit" adds the group commit (with
// durability 'process', i.e. no fdatasync, so the figure is the engine's, not the disk's).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SqliteMetaStore } from '../src/engine/meta/sqlite-meta-store.js';
import { ExtentBlockStore } from '../src/engine/blocks/extent-block-store.js';
import type { ChunkRef } from '../src/engine/blocks/block-store.js';
import { MetaPageStore } from '../src/engine/pages/meta-page-store.js';
import { viewSource, type PageObjectId, type PageViewId } from '../src/engine/pages/page-store.js';

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;
const TIB = 1024 * GIB;

export interface PagesBenchFigure {
  name: string;
  medianMs: number;
  maxMs: number;
  detail: string;
}

interface Ctx {
  meta: SqliteMetaStore;
  pages: MetaPageStore;
  chunk: (length: number) => ChunkRef[];
}

export async function runPagesBench(log: (line: string) => void = console.log): Promise<PagesBenchFigure[]> {
  const dir = process.env.PAGES_BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'nimbus-pages-bench-'));
  const meta = new SqliteMetaStore({ path: join(dir, 'meta.sqlite'), durability: 'process' });
  const blocks = new ExtentBlockStore({ dir: join(dir, 'blocks'), durability: 'process' });
  const stored = await blocks.write(Readable.from([Buffer.alloc(4 * MIB, 1)]), 4 * MIB);
  const base = stored.chunks[0];
  if (base === undefined) throw new Error('no chunk written');
  const ctx: Ctx = { meta, pages: new MetaPageStore(), chunk: (length) => [{ ...base, length }] };
  const figures: PagesBenchFigure[] = [];
  const report = (figure: PagesBenchFigure) => {
    figures.push(figure);
    log(`${figure.name.padEnd(58)} median ${fmt(figure.medianMs)}  max ${fmt(figure.maxMs)}  ${figure.detail}`);
  };
  try {
    const small = await objectWith(ctx, 1 * MIB, 1, 64 * KIB, 64 * KIB);
    const big4m = await objectWith(ctx, 1 * TIB, 256, 4 * MIB, 4 * GIB);
    const big64k = await objectWith(ctx, 1 * TIB, 16_384, 64 * KIB, 64 * MIB);
    const history = await objectWith(ctx, 1 * TIB, 100_000, 64 * KIB, 8 * MIB);
    for (let i = 0; i < 100; i++) await ctx.meta.write((tx) => ctx.pages.freeze(tx, history));
    await churn(ctx, history, 100_000, 0);
    for (const [name, obj] of [
      ['1 MiB object, 64 KiB written', small],
      ['1 TiB object, 1 GiB written as 256 x 4 MiB', big4m],
      ['1 TiB object, 1 GiB written as 16,384 x 64 KiB', big64k],
      ['1 TiB object, 200,000 mutations, 100 views', history],
    ] as const) {
      report(await measureFreeze(ctx, `freeze: ${name}`, obj));
    }
    for (const changes of [1_000, 10_000]) {
      const v1 = await ctx.meta.write((tx) => ctx.pages.freeze(tx, big64k));
      await churn(ctx, big64k, changes, changes);
      const v2 = await ctx.meta.write((tx) => ctx.pages.freeze(tx, big64k));
      report(await measureDiff(ctx, `diff: ${changes.toLocaleString('en')} changed ranges, 1 TiB object`, v1, v2));
    }
    const v1 = await ctx.meta.write((tx) => ctx.pages.freeze(tx, history));
    await churn(ctx, history, 1_000, 7);
    const v2 = await ctx.meta.write((tx) => ctx.pages.freeze(tx, history));
    report(await measureDiff(ctx, 'diff: 1,000 changed ranges after 200,000 older mutations', v1, v2));
  } finally {
    stored.unpin();
    await meta.close();
    await blocks.close();
    if (process.env.PAGES_BENCH_DIR === undefined) rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

/** A sizeBytes object with `writes` writes of writeBytes, spaced `strideBytes` apart. */
async function objectWith(ctx: Ctx, sizeBytes: number, writes: number, writeBytes: number, strideBytes: number): Promise<PageObjectId> {
  const obj = await ctx.meta.write((tx) => ctx.pages.create(tx, sizeBytes));
  for (let first = 0; first < writes; first += 1000) {
    await ctx.meta.write(async (tx) => {
      for (let i = first; i < Math.min(first + 1000, writes); i++) {
        await ctx.pages.write(tx, obj, (i * strideBytes) % sizeBytes, ctx.chunk(writeBytes));
      }
    });
  }
  return obj;
}

/**
 * `count` changes of 64 KiB at deterministic spots spread over 1 TiB: 3 in 4 are writes anywhere,
 * 1 in 4 clears 16 KiB..80 KiB past a 64 MiB boundary, where objectWith() wrote data (so a diff
 * must look the cleared ranges up in the older view, the expensive half of a diff).
 */
async function churn(ctx: Ctx, obj: PageObjectId, count: number, salt: number): Promise<void> {
  for (let first = 0; first < count; first += 1000) {
    await ctx.meta.write(async (tx) => {
      for (let i = first; i < Math.min(first + 1000, count); i++) {
        if (i % 4 === 0) {
          const start = ((i * 7919 + salt) % 16_384) * 64 * MIB + 16 * KIB;
          await ctx.pages.clear(tx, obj, { start, end: start + 64 * KIB });
        } else {
          const start = ((i * 2_654_435_761 + salt * 97) % 16_777_216) * 64 * KIB;
          await ctx.pages.write(tx, obj, start, ctx.chunk(64 * KIB));
        }
      }
    });
  }
}

async function measureFreeze(ctx: Ctx, name: string, obj: PageObjectId): Promise<PagesBenchFigure> {
  const inTx: number[] = [];
  const withCommit: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    await ctx.meta.write(async (tx) => {
      const t = performance.now();
      await ctx.pages.freeze(tx, obj);
      inTx.push(performance.now() - t);
    });
    withCommit.push(performance.now() - started);
  }
  return { name, medianMs: median(inTx), maxMs: Math.max(...inTx), detail: `(in tx; with commit median ${fmt(median(withCommit))})` };
}

async function measureDiff(ctx: Ctx, name: string, older: PageViewId, newer: PageViewId): Promise<PagesBenchFigure> {
  const times: number[] = [];
  let sizes = '';
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    const diff = await ctx.meta.read((tx) => ctx.pages.diff(tx, older, viewSource(newer)));
    times.push(performance.now() - started);
    sizes = `(${diff.written.length} written + ${diff.cleared.length} cleared ranges)`;
  }
  return { name, medianMs: median(times), maxMs: Math.max(...times), detail: sizes };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function fmt(ms: number): string {
  return `${ms.toFixed(3)} ms`.padStart(11);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runPagesBench();
}
