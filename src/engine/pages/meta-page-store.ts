// MetaPageStore: the PageStore over MetadataStore primitives (SQLite today; the range algorithms
// here are backend-neutral, a backend only stores and seeks rows). It owns the versioned range
// map and the change log of every page object; bytes stay in the BlockStore, referenced by block.
//
// One lineage = one page object and the views frozen from it. Every mutation takes the next seq.
// Example: write A over [0,8K) (seq 1), write C over [12K,16K) (seq 2), freeze V (at seq 2),
// write B over [4K,8K) (seq 3):
//
//   page_ranges: versioned range map, one row = [start,end) → bytes of a block, seen by [born, died)
//                                   0       4K      8K      12K     16K
//     row  born  died  bytes        |       |       |       |       |
//     a1    1     3    A+0          [=======A=======)                    ended at 3; V pins it
//     a2    3    LIVE  A+0          [===A===)                            remnant of a1, same block
//     b     3    LIVE  B+0                  [===B===)
//     c     2    LIVE  C+0                                  [===C===)
//     current map = rows with died = LIVE (a2 b c)    view at seq s = born <= s < died (V: a1 c)
//
//   page_changes: (lineage, seq) → update|clear [start,end); no bytes, kept from the oldest view on
//     3  update [4K,8K)                                diff(V, live) = written [4K,8K)
//     (seqs 1 and 2 were not logged: no view existed to diff from)
//
//   page_views: V → (lineage, seq 2, size)             freeze() = one INSERT
//
// Costs:
//   write/clear   O(log n + rows cut): seek the current rows under the range, cut them (remnants
//                 keep pointing at the same block), insert the new rows, append one change.
//   freeze        one row; no copying, whatever the object's size or history.
//   read a view   two index seeks; the scan also steps over older/newer versions kept in that
//                 range (bounded by what views pin there — never the object size).
//   diff(a, b)    the changes with seq in (a, b] (one index range), swept into "last touch"
//                 per byte: last touch update → written; last touch clear → a candidate, reported
//                 as cleared where it was valid at a (a seek at a per candidate range). The state
//                 at b is never scanned: the log slice decides it. O(c log c + rows at a under
//                 the clears) for c changes.
//   copy/branch   copies the rows visible at the source into a new lineage: O(ranges); bytes are
//                 shared (each row is one more reference on its block).
//
// Garbage: a row is deleted, not ended, when no view can see it (born after the newest view);
// dropping a view deletes the dead rows only it pinned (born after the view below it, died at or
// before the view above it) and the changes older than the oldest remaining view. Rows count
// as block references (sqlite-schema.ts triggers), so a block nothing sees drops to 0 refs, its
// chunks stop counting as live bytes, and the existing collector (engine/gc.ts) reclaims them.
// An object with no views keeps no history at all: no change rows, no dead rows.
//
// Rejected alternatives:
//   - View = copy of the range map: freeze would be O(ranges), and an object with 1M written
//     ranges would copy 1M rows per freeze.
//   - Reads of a view answered from the log ("latest change ≤ seq covering x"): the log would have
//     to keep bytes refs forever and a read would walk history backwards from the view; the
//     versioned map answers the same question with one seek and lets the log hold only ranges.
//   - Diff by comparing the two maps: costs the size of the maps, not the changes between them,
//     and cannot report "rewritten with identical bytes" (which diffs must) without the log.
//   - Layered/overlay views (each view a delta over its parent, branches read through): O(1)
//     branch, but every read walks the chain, and GC must track cross-lineage pins. Branches
//     are rare next to reads; O(ranges) branch buys flat reads.
import { slicePieces, type Piece } from '../blocks/block-store.js';
import {
  PAGE_RANGE_BYTES_MAX, PAGE_SEQ_LIVE,
  type MetaReader, type MetaWriter, type NewPageRange, type PageAt, type PageLineageRecord, type PageRangeRow,
} from '../meta/meta-store.js';
import { appendCoalesced, coalesceClipped, lastTouch } from './range-sweep.js';
import {
  PAGE_BYTES, PageError,
  type ByteRange, type PageDiff, type PageObjectId, type PageSource, type PageSourceInfo, type PageSpan, type PageStore, type PageViewId,
} from './page-store.js';

interface Resolved {
  lineageId: number;
  at: PageAt;
  /** The seq the source shows: the view's, or the live head. */
  seq: number;
  sizeBytes: number;
}

const CURRENT: PageAt = { kind: 'current' };

export class MetaPageStore implements PageStore {
  async create(tx: MetaWriter, sizeBytes: number): Promise<PageObjectId> {
    checkSize(sizeBytes);
    return (await tx.insertPageLineage(sizeBytes)) as PageObjectId;
  }

  async write(tx: MetaWriter, objectId: PageObjectId, start: number, pieces: readonly Piece[]): Promise<void> {
    const lineage = await liveLineage(tx, objectId);
    const end = start + pieces.reduce((sum, p) => sum + p.length, 0);
    checkPageRange({ start, end }, lineage.sizeBytes);
    const blockId = await tx.createBlock(pieces);
    const seq = await mutate(tx, lineage, { start, end }, false);
    await tx.insertPageRanges(lineage.lineageId, rowsFor({ start, end }, blockId, seq));
    await tx.updatePageLineage(lineage.lineageId, { headSeq: seq });
  }

  async clear(tx: MetaWriter, objectId: PageObjectId, range: ByteRange): Promise<void> {
    const lineage = await liveLineage(tx, objectId);
    checkPageRange(range, lineage.sizeBytes);
    const seq = await mutate(tx, lineage, range, true);
    await tx.updatePageLineage(lineage.lineageId, { headSeq: seq });
  }

  async resize(tx: MetaWriter, objectId: PageObjectId, sizeBytes: number): Promise<void> {
    const lineage = await liveLineage(tx, objectId);
    checkSize(sizeBytes);
    if (sizeBytes >= lineage.sizeBytes) {
      await tx.updatePageLineage(lineage.lineageId, { sizeBytes });
      return;
    }
    // A shrink is a clear of the tail: views keep the dropped pages, diffs report them cleared.
    const seq = await mutate(tx, lineage, { start: sizeBytes, end: lineage.sizeBytes }, true);
    await tx.updatePageLineage(lineage.lineageId, { headSeq: seq, sizeBytes });
  }

  async freeze(tx: MetaWriter, objectId: PageObjectId): Promise<PageViewId> {
    const lineage = await liveLineage(tx, objectId);
    return (await tx.insertPageView(lineage.lineageId, lineage.headSeq, lineage.sizeBytes)) as PageViewId;
  }

  async branch(tx: MetaWriter, source: PageSource): Promise<PageObjectId> {
    const from = await resolve(tx, source);
    const lineageId = await tx.insertPageLineage(from.sizeBytes);
    await tx.copyPageRanges(from.lineageId, from.at, lineageId);
    return lineageId as PageObjectId;
  }

  async dropView(tx: MetaWriter, viewId: PageViewId): Promise<void> {
    const view = await tx.getPageView(viewId);
    if (view === undefined) throw new PageError('not-found', `view ${viewId}`);
    await tx.deletePageView(viewId);
    const { lineageId, seq } = view;
    // Rows only this view saw: visible at seq, invisible to the nearest views on either side.
    const { below, above } = await tx.pageViewNeighbours(lineageId, seq);
    await tx.collectPageRanges(lineageId, {
      bornAfter: below ?? -1, bornUpto: seq, diedAfter: seq, diedUpto: above ?? PAGE_SEQ_LIVE - 1,
    });
    const views = await tx.pageViewSeqRange(lineageId);
    await tx.trimPageChanges(lineageId, -1, views?.min ?? PAGE_SEQ_LIVE);
    const lineage = await tx.getPageLineage(lineageId);
    if (views === undefined && lineage !== undefined && !lineage.live) await tx.deletePageLineage(lineageId);
  }

  async dropObject(tx: MetaWriter, objectId: PageObjectId): Promise<void> {
    const lineage = await liveLineage(tx, objectId);
    const views = await tx.pageViewSeqRange(lineage.lineageId);
    if (views === undefined) {
      await tx.deletePageLineage(lineage.lineageId);
      return;
    }
    // Views outlive the object: end every current row (views may see it) and forget the changes
    // made after the newest view (only a diff against the live object needed them).
    const seq = lineage.headSeq + 1;
    await cutCurrent(tx, lineage.lineageId, { start: 0, end: lineage.sizeBytes }, seq, views.max);
    await tx.trimPageChanges(lineage.lineageId, views.max, PAGE_SEQ_LIVE);
    await tx.updatePageLineage(lineage.lineageId, { headSeq: seq, live: false });
  }

  async releasePending(tx: MetaWriter, limit: number): Promise<number> {
    const releases = await tx.listPageReleases(limit);
    for (const release of releases) {
      if (release.viewId !== null) await this.dropView(tx, release.viewId as PageViewId);
      if (release.objectId !== null) await this.dropObject(tx, release.objectId as PageObjectId);
      await tx.deletePageRelease(release.releaseId);
    }
    return releases.length;
  }

  async describe(tx: MetaReader, source: PageSource): Promise<PageSourceInfo> {
    const { lineageId, sizeBytes } = await resolve(tx, source);
    return { lineageId, sizeBytes };
  }

  async read(tx: MetaReader, source: PageSource, range: ByteRange): Promise<PageSpan[]> {
    const from = await resolve(tx, source);
    checkReadRange(range, from.sizeBytes);
    const rows = await tx.pageRangesAt(from.lineageId, from.at, range.start, range.end);
    const blockPieces = new Map<number, Piece[]>();
    for (const row of rows) {
      if (!blockPieces.has(row.blockId)) blockPieces.set(row.blockId, await tx.getBlockPieces(row.blockId));
    }
    return spansOf(rows, range, (blockId) => blockPieces.get(blockId) ?? []);
  }

  async validRanges(tx: MetaReader, source: PageSource, range?: ByteRange): Promise<ByteRange[]> {
    const from = await resolve(tx, source);
    const clip = range ?? { start: 0, end: from.sizeBytes };
    checkReadRange(clip, from.sizeBytes);
    return coalesceClipped(await tx.pageRangesAt(from.lineageId, from.at, clip.start, clip.end), clip);
  }

  async diff(tx: MetaReader, older: PageViewId, newer: PageSource): Promise<PageDiff> {
    const base = await tx.getPageView(older);
    if (base === undefined) throw new PageError('not-found', `view ${older}`);
    const target = await resolve(tx, newer);
    if (target.lineageId !== base.lineageId) {
      throw new PageError('different-lineage', `view ${older} is of lineage ${base.lineageId}, not ${target.lineageId}`);
    }
    if (base.seq > target.seq) throw new PageError('older-is-newer', `view ${older} (seq ${base.seq}) > seq ${target.seq}`);
    const changes = await tx.pageChanges(base.lineageId, base.seq, target.seq);
    const touched = lastTouch(changes, target.sizeBytes);
    const cleared: ByteRange[] = [];
    const at: PageAt = { kind: 'seq', seq: base.seq };
    for (const candidate of touched.cleared) {
      const clip = { start: candidate.start, end: Math.min(candidate.end, base.sizeBytes) };
      if (clip.start >= clip.end) break;
      for (const r of coalesceClipped(await tx.pageRangesAt(base.lineageId, at, clip.start, clip.end), clip)) {
        appendCoalesced(cleared, r.start, r.end);
      }
    }
    return { written: touched.written, cleared };
  }
}

/**
 * Takes the next seq for a mutation of `range`: cuts the current rows under it and appends one
 * change when some view may later diff across this seq. The caller inserts new rows (if any)
 * and stores the new head seq.
 */
async function mutate(tx: MetaWriter, lineage: PageLineageRecord, range: ByteRange, cleared: boolean): Promise<number> {
  const seq = lineage.headSeq + 1;
  const views = await tx.pageViewSeqRange(lineage.lineageId);
  await cutCurrent(tx, lineage.lineageId, range, seq, views?.max ?? -1);
  if (views !== undefined) await tx.appendPageChange(lineage.lineageId, { seq, cleared, start: range.start, end: range.end });
  return seq;
}

/**
 * Removes [range) from the current map at `seq`. A row that straddles an edge leaves remnants
 * (born at seq, same block, shifted offset). A row no view can see (born after pinnedUpto, the
 * newest view's seq) is deleted; the others end at seq and stay for the views that pin them.
 * Remnants are inserted before the old row goes, so its block never touches 0 refs meanwhile.
 */
async function cutCurrent(tx: MetaWriter, lineageId: number, range: ByteRange, seq: number, pinnedUpto: number): Promise<void> {
  const rows = await tx.pageRangesAt(lineageId, CURRENT, range.start, range.end);
  const remnants: NewPageRange[] = [];
  for (const row of rows) {
    if (row.start < range.start) {
      remnants.push({ start: row.start, end: range.start, born: seq, blockId: row.blockId, blockOffset: row.blockOffset });
    }
    if (row.end > range.end) {
      const blockOffset = row.blockOffset + (range.end - row.start);
      remnants.push({ start: range.end, end: row.end, born: seq, blockId: row.blockId, blockOffset });
    }
  }
  await tx.insertPageRanges(lineageId, remnants);
  await tx.endPageRanges(rows.filter((r) => r.born <= pinnedUpto).map((r) => r.rowId), seq);
  await tx.deletePageRanges(rows.filter((r) => r.born > pinnedUpto).map((r) => r.rowId));
}

/** New rows for a write of one block, cut to PAGE_RANGE_BYTES_MAX (backends seek by that bound). */
function rowsFor(range: ByteRange, blockId: number, seq: number): NewPageRange[] {
  const rows: NewPageRange[] = [];
  for (let start = range.start; start < range.end; start += PAGE_RANGE_BYTES_MAX) {
    const end = Math.min(start + PAGE_RANGE_BYTES_MAX, range.end);
    rows.push({ start, end, born: seq, blockId, blockOffset: start - range.start });
  }
  return rows;
}

/** Rows (sorted, non-overlapping) → gap-free spans over range; adjacent data rows share a span. */
function spansOf(rows: readonly PageRangeRow[], range: ByteRange, piecesOf: (blockId: number) => Piece[]): PageSpan[] {
  const spans: PageSpan[] = [];
  let cursor = range.start;
  for (const row of rows) {
    const start = Math.max(row.start, range.start);
    const end = Math.min(row.end, range.end);
    if (start >= end) continue;
    if (start > cursor) spans.push({ kind: 'zeros', start: cursor, end: start });
    const pieces = slicePieces(piecesOf(row.blockId), row.blockOffset + start - row.start, row.blockOffset + end - row.start);
    const last = spans[spans.length - 1];
    if (last?.kind === 'data' && last.end === start) {
      last.pieces.push(...pieces);
      last.end = end;
    } else {
      spans.push({ kind: 'data', start, end, pieces });
    }
    cursor = end;
  }
  if (cursor < range.end) spans.push({ kind: 'zeros', start: cursor, end: range.end });
  return spans;
}

async function liveLineage(tx: MetaReader, objectId: PageObjectId): Promise<PageLineageRecord> {
  const lineage = await tx.getPageLineage(objectId);
  if (lineage === undefined || !lineage.live) throw new PageError('not-found', `page object ${objectId}`);
  return lineage;
}

async function resolve(tx: MetaReader, source: PageSource): Promise<Resolved> {
  if (source.kind === 'object') {
    const lineage = await liveLineage(tx, source.objectId);
    return { lineageId: lineage.lineageId, at: CURRENT, seq: lineage.headSeq, sizeBytes: lineage.sizeBytes };
  }
  const view = await tx.getPageView(source.viewId);
  if (view === undefined) throw new PageError('not-found', `view ${source.viewId}`);
  return { lineageId: view.lineageId, at: { kind: 'seq', seq: view.seq }, seq: view.seq, sizeBytes: view.sizeBytes };
}

function checkSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % PAGE_BYTES !== 0) {
    throw new PageError('invalid-range', `size ${sizeBytes} is not a multiple of ${PAGE_BYTES}`);
  }
}

function checkPageRange(range: ByteRange, sizeBytes: number): void {
  const aligned = range.start % PAGE_BYTES === 0 && range.end % PAGE_BYTES === 0;
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || !aligned
    || range.start < 0 || range.start >= range.end || range.end > sizeBytes) {
    throw new PageError('invalid-range', `[${range.start}, ${range.end}) of an object of ${sizeBytes} bytes`);
  }
}

function checkReadRange(range: ByteRange, sizeBytes: number): void {
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end)
    || range.start < 0 || range.start > range.end || range.end > sizeBytes) {
    throw new PageError('invalid-range', `read [${range.start}, ${range.end}) of an object of ${sizeBytes} bytes`);
  }
}
