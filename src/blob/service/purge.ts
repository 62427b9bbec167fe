// The purge job: soft-deleted blobs, snapshots and versions, and soft-deleted containers, are
// removed for good once their retention has ended. Driven by the injected clock: a scheduler (or a
// test, after moving a ManualClock) calls it; it works in bounded batches so one run never holds
// the metadata write lock for long.
import type { MetaStore } from '../../engine/meta/meta-store.js';
import type { PageStore } from '../../engine/pages/page-store.js';

const BATCH = 500;

export async function purgeExpired(meta: MetaStore, pages: PageStore, now: number): Promise<{ entries: number; containers: number }> {
  let entries = 0;
  let containers = 0;
  for (;;) {
    const removed = await meta.write(async (tx) => {
      const expired = await tx.listExpiredEntries(now, BATCH);
      for (const e of expired) await tx.deleteEntry(e.bucketId, e.name, e.sub);
      return expired.length;
    });
    entries += removed;
    if (removed < BATCH) break;
  }
  for (;;) {
    const removed = await meta.write(async (tx) => {
      const expired = await tx.listExpiredBuckets(now, 20);
      for (const b of expired) await tx.dropBucket(b.bucketId);
      return expired.length;
    });
    containers += removed;
    if (removed < 20) break;
  }
  // Page objects and views whose entries are gone (deleted, purged, or dropped with a container).
  while ((await meta.write((tx) => pages.releasePending(tx, 50))) === 50);
  return { entries, containers };
}
