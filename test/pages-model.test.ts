// Model test of the page engine: random sequences of create / write / clear / resize / freeze /
// branch / drop / diff / read run against MetaPageStore (SQLite + extent files) and against a
// tiny in-memory model (a map page → 512 bytes per object, a copied map per view, and the list
// of every mutation per lineage). After every step, for every object and view: validRanges,
// the bytes read, and the diffs (view → live, view → next view) must equal the model's; and
// the stored history must be exactly what the remaining views need (no dead row no view sees,
// no change older than the oldest view, block refs = rows pointing at them).
//
// Model diff, straight from the definition: a page p < newer.size that some mutation in
// (older.seq, newer.seq] touched is "written" if valid in newer, "cleared" if instead it was
// valid in older; untouched pages are not reported.
//
// Replay: the seed is logged; PAGES_SEED=<n> replays it (PAGES_RUNS overrides the run count).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { SqliteMetaStore } from '../src/engine/meta/sqlite-meta-store.js';
import { ExtentBlockStore } from '../src/engine/blocks/extent-block-store.js';
import { PAGE_SEQ_LIVE } from '../src/engine/meta/meta-store.js';
import type { Piece } from '../src/engine/blocks/block-store.js';
import { MetaPageStore } from '../src/engine/pages/meta-page-store.js';
import { spansToBuffer } from '../src/engine/pages/page-bytes.js';
import {
  PAGE_BYTES, PageError, objectSource, viewSource,
  type ByteRange, type PageDiff, type PageObjectId, type PageSource, type PageViewId,
} from '../src/engine/pages/page-store.js';

const SEED = Number(process.env.PAGES_SEED ?? randomInt(2 ** 31 - 1));
const RUNS = Number(process.env.PAGES_RUNS ?? 1000);
const PAGES_MAX = 40;

interface Change { seq: number; start: number; end: number } // pages [start, end)
interface Lineage { seq: number; changes: Change[] }
interface State { size: number; pages: Map<number, Buffer> } // size in pages
interface ModelObject extends State { id: PageObjectId; lineage: Lineage }
interface ModelView extends State { id: PageViewId; lineage: Lineage; seq: number }

type Op =
  | { op: 'create'; pages: number }
  | { op: 'write'; target: number; page: number; count: number; fill: number; split: number; extent: boolean }
  | { op: 'clear'; target: number; page: number; count: number }
  | { op: 'resize'; target: number; pages: number }
  | { op: 'freeze'; target: number }
  | { op: 'branch'; source: number }
  | { op: 'dropView'; target: number }
  | { op: 'dropObject'; target: number }
  | { op: 'diff'; older: number; newer: number }
  | { op: 'read'; source: number; start: number; length: number };

const index = fc.oneof(fc.nat(3), fc.nat(50)); // mostly the first few: histories get deep
const page = fc.nat(PAGES_MAX + 2);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ op: fc.constant('create' as const), pages: fc.nat(PAGES_MAX) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('write' as const), target: index, page, count: fc.integer({ min: 1, max: 12 }),
      fill: fc.nat(255), split: fc.nat(3), extent: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('clear' as const), target: index, page, count: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('resize' as const), target: index, pages: fc.nat(PAGES_MAX) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('freeze' as const), target: index }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('branch' as const), source: index }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('dropView' as const), target: index }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dropObject' as const), target: index }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('diff' as const), older: index, newer: index }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), source: index, start: fc.nat(PAGES_MAX * PAGE_BYTES), length: fc.nat(4000) }) },
);

test(`page engine matches an in-memory model (PAGES_SEED=${SEED})`, async () => {
  console.log(`pages-model: PAGES_SEED=${SEED} PAGES_RUNS=${RUNS}`);
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-pages-model-'));
  const meta = new SqliteMetaStore({ path: join(dir, 'meta.sqlite'), durability: 'process' });
  const blocks = new ExtentBlockStore({ dir: join(dir, 'blocks'), extentMaxBytes: 256 * 1024, durability: 'process' });
  const raw = new Database(join(dir, 'meta.sqlite'), { readonly: true });
  const pages = new MetaPageStore();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        const world = new World(meta, blocks, pages);
        try {
          for (const op of ops) {
            await world.apply(op);
            await world.check();
            checkHistoryIsExact(raw);
          }
        } finally {
          await world.dropAll();
        }
        assertEmpty(raw);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  } finally {
    raw.close();
    await meta.close();
    await blocks.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

class World {
  readonly objects: ModelObject[] = [];
  readonly views: ModelView[] = [];

  constructor(
    readonly meta: SqliteMetaStore,
    readonly blocks: ExtentBlockStore,
    readonly pages: MetaPageStore,
  ) {}

  async apply(op: Op): Promise<void> {
    if (op.op === 'create' || this.objects.length === 0) return this.create(op.op === 'create' ? op.pages : 16);
    const object = pick(this.objects, 'target' in op ? op.target : 0);
    switch (op.op) {
      // Positions mostly inside the object (so histories overlap), sometimes just past its end.
      case 'write': return this.write(object, { ...op, page: op.page % (object.size + 2) });
      case 'clear': return this.clear(object, op.page % (object.size + 2), op.count);
      case 'resize': return this.resize(object, op.pages);
      case 'freeze': return this.freeze(object);
      case 'branch': return this.branch(op.source);
      case 'dropView': return this.dropView(op.target);
      case 'dropObject': return this.dropObject(object);
      case 'diff': return this.diffOp(op.older, op.newer);
      case 'read': return this.readOp(op.source, op.start, op.length);
    }
  }

  async create(size: number): Promise<void> {
    const id = await this.meta.write((tx) => this.pages.create(tx, size * PAGE_BYTES));
    this.objects.push({ id, size, pages: new Map(), lineage: { seq: 0, changes: [] } });
  }

  async write(object: ModelObject, op: Extract<Op, { op: 'write' }>): Promise<void> {
    const data = Buffer.alloc(op.count * PAGE_BYTES);
    for (let p = 0; p < op.count; p++) data.fill((op.fill + p * 7) % 256, p * PAGE_BYTES, (p + 1) * PAGE_BYTES);
    data.writeUInt32LE(object.lineage.seq, 0); // make rewrites of one page differ between steps
    const { pieces, unpin } = await this.store(data, op.split, op.extent);
    const write = this.meta.write((tx) => this.pages.write(tx, object.id, op.page * PAGE_BYTES, pieces));
    try {
      if (op.page + op.count > object.size) return await expectCode(write, 'invalid-range');
      await write;
    } finally {
      unpin();
    }
    const seq = ++object.lineage.seq;
    object.lineage.changes.push({ seq, start: op.page, end: op.page + op.count });
    for (let p = 0; p < op.count; p++) object.pages.set(op.page + p, data.subarray(p * PAGE_BYTES, (p + 1) * PAGE_BYTES));
  }

  /** Bytes as 1-4 pieces, inline or in extent files, so reads must slice across pieces. */
  async store(data: Buffer, split: number, extent: boolean): Promise<{ pieces: Piece[]; unpin(): void }> {
    const cut = Math.floor((data.length * split) / 4 / PAGE_BYTES) * PAGE_BYTES;
    const parts = cut > 0 && cut < data.length ? [data.subarray(0, cut), data.subarray(cut)] : [data];
    if (!extent) return { pieces: parts.map((inline) => ({ inline, length: inline.length })), unpin: () => undefined };
    const written = await Promise.all(parts.map((part) => this.blocks.write(Readable.from([part]), part.length)));
    return { pieces: written.flatMap((w) => w.chunks), unpin: () => written.forEach((w) => w.unpin()) };
  }

  async clear(object: ModelObject, start: number, count: number): Promise<void> {
    const clear = this.meta.write((tx) => this.pages.clear(tx, object.id, { start: start * PAGE_BYTES, end: (start + count) * PAGE_BYTES }));
    if (start + count > object.size) return expectCode(clear, 'invalid-range');
    await clear;
    const seq = ++object.lineage.seq;
    object.lineage.changes.push({ seq, start, end: start + count });
    for (let p = start; p < start + count; p++) object.pages.delete(p);
  }

  async resize(object: ModelObject, size: number): Promise<void> {
    await this.meta.write((tx) => this.pages.resize(tx, object.id, size * PAGE_BYTES));
    if (size < object.size) {
      const seq = ++object.lineage.seq;
      object.lineage.changes.push({ seq, start: size, end: object.size });
      for (const p of [...object.pages.keys()]) if (p >= size) object.pages.delete(p);
    }
    object.size = size;
  }

  async freeze(object: ModelObject): Promise<void> {
    const id = await this.meta.write((tx) => this.pages.freeze(tx, object.id));
    this.views.push({ id, lineage: object.lineage, seq: object.lineage.seq, size: object.size, pages: new Map(object.pages) });
  }

  async branch(sourceIndex: number): Promise<void> {
    const source = this.source(sourceIndex);
    const id = await this.meta.write((tx) => this.pages.branch(tx, source.ref));
    this.objects.push({ id, size: source.state.size, pages: new Map(source.state.pages), lineage: { seq: 0, changes: [] } });
  }

  async dropView(viewIndex: number): Promise<void> {
    if (this.views.length === 0) return;
    const [view] = this.views.splice(viewIndex % this.views.length, 1);
    if (view) await this.meta.write((tx) => this.pages.dropView(tx, view.id));
  }

  async dropObject(object: ModelObject): Promise<void> {
    this.objects.splice(this.objects.indexOf(object), 1);
    await this.meta.write((tx) => this.pages.dropObject(tx, object.id));
    await expectCode(this.meta.read((tx) => this.pages.validRanges(tx, objectSource(object.id))), 'not-found');
  }

  async diffOp(olderIndex: number, newerIndex: number): Promise<void> {
    if (this.views.length === 0) return;
    const older = pick(this.views, olderIndex);
    const newer = this.source(newerIndex);
    const diff = this.meta.read((tx) => this.pages.diff(tx, older.id, newer.ref));
    if (newer.lineage !== older.lineage) return expectCode(diff, 'different-lineage');
    if (older.seq > newer.seq) return expectCode(diff, 'older-is-newer');
    assert.deepEqual(await diff, modelDiff(older, newer.state, newer.seq), `diff view ${older.id} → ${JSON.stringify(newer.ref)}`);
  }

  async readOp(sourceIndex: number, start: number, length: number): Promise<void> {
    const source = this.source(sourceIndex);
    const sizeBytes = source.state.size * PAGE_BYTES;
    const range = { start: Math.min(start, sizeBytes), end: Math.min(start + length, sizeBytes) };
    const spans = await this.meta.read((tx) => this.pages.read(tx, source.ref, range));
    const bytes = await spansToBuffer(this.blocks, spans);
    assert.ok(bytes.equals(modelBytes(source.state).subarray(range.start, range.end)), `read ${range.start}..${range.end}`);
  }

  /** Every object and view as a read source, indexed round-robin. */
  source(i: number): { ref: PageSource; state: State; lineage: Lineage; seq: number } {
    const all = [
      ...this.objects.map((o) => ({ ref: objectSource(o.id), state: o as State, lineage: o.lineage, seq: o.lineage.seq })),
      ...this.views.map((v) => ({ ref: viewSource(v.id), state: v as State, lineage: v.lineage, seq: v.seq })),
    ];
    const found = all[i % all.length];
    assert.ok(found, 'some source exists');
    return found;
  }

  async check(): Promise<void> {
    await this.meta.read(async (tx) => {
      const sources = [
        ...this.objects.map((o) => ({ ref: objectSource(o.id), state: o as State })),
        ...this.views.map((v) => ({ ref: viewSource(v.id), state: v as State })),
      ];
      for (const { ref, state } of sources) {
        assert.deepEqual(await this.pages.validRanges(tx, ref), modelRanges(state), `validRanges of ${JSON.stringify(ref)}`);
        const bytes = await spansToBuffer(this.blocks, await this.pages.read(tx, ref, { start: 0, end: state.size * PAGE_BYTES }));
        assert.ok(bytes.equals(modelBytes(state)), `bytes of ${JSON.stringify(ref)}`);
      }
      for (const view of this.views) {
        const live = this.objects.find((o) => o.lineage === view.lineage);
        if (live) assert.deepEqual(await this.pages.diff(tx, view.id, objectSource(live.id)), modelDiff(view, live, live.lineage.seq));
        const next = this.views.find((v) => v.lineage === view.lineage && v.seq >= view.seq && v !== view);
        if (next) assert.deepEqual(await this.pages.diff(tx, view.id, viewSource(next.id)), modelDiff(view, next, next.seq));
      }
    });
  }

  async dropAll(): Promise<void> {
    for (const view of this.views.splice(0)) await this.meta.write((tx) => this.pages.dropView(tx, view.id));
    for (const object of this.objects.splice(0)) await this.meta.write((tx) => this.pages.dropObject(tx, object.id));
  }
}

function pick<T>(items: readonly T[], i: number): T {
  const item = items[i % items.length];
  assert.ok(item !== undefined, 'pick from a non-empty list');
  return item;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof PageError && error.code === code);
}

function modelRanges(state: State): ByteRange[] {
  return coalesce([...state.pages.keys()].filter((p) => p < state.size));
}

function modelBytes(state: State): Buffer {
  const bytes = Buffer.alloc(state.size * PAGE_BYTES);
  for (const [p, data] of state.pages) if (p < state.size) data.copy(bytes, p * PAGE_BYTES);
  return bytes;
}

function modelDiff(older: ModelView, newer: State, newerSeq: number): PageDiff {
  const written: number[] = [];
  const cleared: number[] = [];
  const changes = older.lineage.changes.filter((c) => c.seq > older.seq && c.seq <= newerSeq);
  for (let p = 0; p < newer.size; p++) {
    if (!changes.some((c) => c.start <= p && p < c.end)) continue;
    if (newer.pages.has(p)) written.push(p);
    else if (p < older.size && older.pages.has(p)) cleared.push(p);
  }
  return { written: coalesce(written), cleared: coalesce(cleared) };
}

function coalesce(pageNumbers: number[]): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (const p of [...pageNumbers].sort((a, b) => a - b)) {
    const last = ranges[ranges.length - 1];
    if (last && last.end === p * PAGE_BYTES) last.end += PAGE_BYTES;
    else ranges.push({ start: p * PAGE_BYTES, end: (p + 1) * PAGE_BYTES });
  }
  return ranges;
}

/** The history kept is exactly what the remaining views need, and block refs are exact. */
function checkHistoryIsExact(raw: Database.Database): void {
  const count = (sql: string) => (raw.prepare(sql).get({ live: PAGE_SEQ_LIVE }) as { n: number }).n;
  assert.equal(count(`SELECT COUNT(*) AS n FROM page_ranges r WHERE r.died < @live AND NOT EXISTS
    (SELECT 1 FROM page_views v WHERE v.lineage_id = r.lineage_id AND v.seq >= r.born AND v.seq < r.died)`), 0, 'dead rows no view sees');
  assert.equal(count(`SELECT COUNT(*) AS n FROM page_changes c WHERE c.seq <=
    COALESCE((SELECT MIN(seq) FROM page_views v WHERE v.lineage_id = c.lineage_id), @live)`), 0, 'changes older than every view');
  assert.equal(count(`SELECT COUNT(*) AS n FROM blocks b WHERE b.refs !=
    (SELECT COUNT(*) FROM page_ranges r WHERE r.block_id = b.block_id)`), 0, 'block refs = page rows pointing at them');
  assert.equal(count(`SELECT COUNT(*) AS n FROM page_ranges r JOIN page_lineages l USING (lineage_id)
    WHERE r.died = @live AND l.live = 0`), 0, 'a dropped object keeps no current rows');
}

function assertEmpty(raw: Database.Database): void {
  for (const table of ['page_lineages', 'page_views', 'page_ranges', 'page_changes', 'blocks', 'chunks']) {
    assert.equal((raw.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n, 0, `${table} empty after dropping everything`);
  }
  const live = raw.prepare('SELECT COALESCE(SUM(live_bytes), 0) AS n FROM extents').get() as { n: number };
  assert.equal(live.n, 0, 'no live bytes left in extents');
}
