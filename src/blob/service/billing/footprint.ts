// What one stored object (current blob, version, snapshot, soft-deleted one) references, in the unit
// Azure bills by: blocks, identified by upload, not by content.
//
//   block blob  content parts → one unit per committed block: (blockId, [0, size))
//               a block id is created once per upload (Put Block, Put Blob, Put Block From URL), so a
//               re-uploaded identical block is a different unit; committing one block twice in one
//               list is still one unit
//   page blob   the page ranges visible to the entry's page object or frozen view → one unit per
//               range row: (blockId, [blockOffset, blockOffset + length)); a page rewritten with the
//               same bytes gets a new block, so it is a new unit
//
// Units of one block can overlap (page ranges cut from one write); Units.add() counts the bytes a
// unit adds to a set, so "unique bytes" is exact at byte granularity within each block.
import type { EntryRecord, MetaReader } from '../../../engine/meta/meta-store.js';
import type { PageStore } from '../../../engine/pages/page-store.js';
import { pageSourceOf } from '../page-blobs.js';
import { blobAttrs } from '../records.js';

export interface Unit {
  blockId: number;
  from: number;
  to: number;
}

export interface Footprint {
  units: Unit[];
  /** Azure's "full content length": the blob's length (page blobs: the bytes of its written pages). */
  fullLengthBytes: number;
}

export async function footprintOf(tx: MetaReader, pages: PageStore, entry: EntryRecord): Promise<Footprint> {
  if (blobAttrs(entry.attrs).blobType === 'PageBlob') return pageFootprint(tx, pages, entry);
  if (entry.contentId === null) return { units: [], fullLengthBytes: entry.sizeBytes };
  const parts = await tx.getContent(entry.contentId);
  return { units: parts.map((p) => ({ blockId: p.blockId, from: 0, to: p.sizeBytes })), fullLengthBytes: entry.sizeBytes };
}

async function pageFootprint(tx: MetaReader, pages: PageStore, entry: EntryRecord): Promise<Footprint> {
  const source = pageSourceOf(entry);
  const { lineageId, sizeBytes } = await pages.describe(tx, source);
  const view = source.kind === 'view' ? await tx.getPageView(source.viewId) : undefined;
  const rows = await tx.pageRangesAt(lineageId, view ? { kind: 'seq', seq: view.seq } : { kind: 'current' }, 0, sizeBytes);
  const units = rows.map((r) => {
    const start = Math.max(r.start, 0);
    const end = Math.min(r.end, sizeBytes);
    const from = r.blockOffset + (start - r.start);
    return { blockId: r.blockId, from, to: from + (end - start) };
  }).filter((u) => u.to > u.from);
  return { units, fullLengthBytes: units.reduce((sum, u) => sum + (u.to - u.from), 0) };
}

/** A set of byte ranges per block; add() answers how many bytes were not in the set yet. */
export class Units {
  readonly #byBlock = new Map<number, Array<[number, number]>>();

  add(unit: Unit): number {
    const ranges = this.#byBlock.get(unit.blockId) ?? [];
    let added = unit.to - unit.from;
    for (const [from, to] of ranges) added -= Math.max(0, Math.min(to, unit.to) - Math.max(from, unit.from));
    // Ranges stay disjoint: merge the new one with every range it touches.
    const touching = ranges.filter(([from, to]) => to >= unit.from && from <= unit.to);
    const merged: [number, number] = [
      Math.min(unit.from, ...touching.map((r) => r[0])),
      Math.max(unit.to, ...touching.map((r) => r[1])),
    ];
    this.#byBlock.set(unit.blockId, [...ranges.filter((r) => !touching.includes(r)), merged]);
    return added;
  }

  addAll(units: readonly Unit[]): number {
    return units.reduce((sum, u) => sum + this.add(u), 0);
  }
}
