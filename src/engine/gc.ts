// Garbage collection of block data. Metadata (refcount triggers) knows which bytes are live in
// each extent; this compares that with extent sizes and
//   - retires sealed extents with no live bytes (files of crashed writes included), and
//   - compacts sealed extents that are mostly dead: copies their live chunks to the active
//     extent, syncs, repoints the chunk refs in one metadata transaction, then retires the file.
// Safe against concurrent writers (pinned extents are skipped; relocation is a compare-and-set
// on the old location, so a chunk deleted meanwhile is simply not moved) and against readers
// (retire waits for every read guard older than itself). A crash at any point leaves either the
// old location or the new one referenced; the unreferenced copy is garbage for the next run.
import type { BlockStore } from './blocks/block-store.js';
import type { MetaStore } from './meta/meta-store.js';

export interface GcOptions {
  /** Compact an extent when its live share falls below this fraction. */
  liveRatioMin: number;
}

export interface GcReport {
  extentsRetired: number;
  extentsCompacted: number;
  bytesMoved: number;
  bytesReclaimed: number;
}

export async function collectGarbage(meta: MetaStore, blocks: BlockStore, options: GcOptions = { liveRatioMin: 0.5 }): Promise<GcReport> {
  const report: GcReport = { extentsRetired: 0, extentsCompacted: 0, bytesMoved: 0, bytesReclaimed: 0 };
  const usage = new Map((await meta.read((tx) => tx.extentUsage())).map((u) => [u.extentId, u.liveBytes]));
  for (const extent of blocks.extents()) {
    if (!extent.sealed || blocks.isPinned(extent.extentId)) continue;
    const live = usage.get(extent.extentId) ?? 0;
    if (live > 0 && live >= extent.sizeBytes * options.liveRatioMin) continue;
    if (live > 0) {
      report.bytesMoved += await compactExtent(meta, blocks, extent.extentId);
      report.extentsCompacted++;
    }
    // Re-read even when `live` was 0: `usage` predates the compactions awaited above, and a write
    // that was pinned then (say, a large upload filling this extent) may have committed since.
    // Once unpinned, no write into a sealed extent is in flight, so this count is final.
    const after = await meta.read((tx) => tx.chunksInExtent(extent.extentId));
    if (after.length > 0 || blocks.isPinned(extent.extentId)) continue;
    blocks.retire(extent.extentId);
    report.extentsRetired++;
    report.bytesReclaimed += extent.sizeBytes - live;
  }
  return report;
}

async function compactExtent(meta: MetaStore, blocks: BlockStore, extentId: number): Promise<number> {
  const chunks = await meta.read((tx) => tx.chunksInExtent(extentId));
  let moved = 0;
  for (const chunk of chunks) {
    const copy = await blocks.copy([chunk.ref]);
    try {
      await blocks.sync();
      const target = copy.chunks;
      // A chunk that crossed into a new extent would need splitting; copy reserves contiguously
      // unless the active extent is full, in which case we leave this chunk for the next run.
      if (target.length !== 1 || !target[0]) continue;
      const to = target[0];
      const ok = await meta.write((tx) => tx.relocateChunk(chunk.blockId, chunk.index, chunk.ref, to));
      if (ok) moved += chunk.ref.length;
    } finally {
      copy.unpin();
    }
  }
  return moved;
}
