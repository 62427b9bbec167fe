// The usage report: per account and per container, the capacity Azure would bill, per tier, by
// Azure's rules (family.ts), and beside it the bytes Nimbus physically keeps for the same data.
// Served by BlobApi.usageReport; the ARM usage endpoint and `nimbus usage [--json]` render it.
//
//   billable   every blob name's family (current, previous versions, snapshots, soft-deleted ones)
//              billed by family.ts; soft-deleted containers are included and billed like live ones
//              (container soft delete: "billed like active data")
//   physical   the distinct stored bytes those objects reference: extent byte ranges (a range shared
//              by a copy, a snapshot, a version, or a block cut from another block counts once) plus
//              inline bytes of small blocks. Staged (uncommitted) blocks of listed names are
//              physical too. Per account, ranges shared between containers count once.
//
// Cost: one short read transaction per blob name (its entries and their contents or page ranges), so
// a report never holds the metadata lock for long; the numbers are a per-name consistent snapshot,
// not an account-wide one. Memory grows with the number of distinct blocks in the account.
import type { BlockFootprint, EntryRecord, MetaReader, MetaStore } from '../../../engine/meta/meta-store.js';
import type { PageStore } from '../../../engine/pages/page-store.js';
import type { AccessTier } from '../model.js';
import { blobAttrs, entryKind } from '../records.js';
import { tierOf } from '../tiers.js';
import { parseTimeId } from '../time-ids.js';
import { readDataProtection } from '../containers.js';
import { billFamily, type BilledObject, type FamilyObject } from './family.js';
import { footprintOf } from './footprint.js';

const BATCH = 256;
const FOOTPRINT_BATCH = 2000;
const BUCKETS_MAX = 100_000;
const TICKS_PER_MS = 10_000n;

export type TierBytes = Record<AccessTier, number>;

export interface BlobUsage {
  blob: string;
  billable: TierBytes;
  objects: BilledObject[];
}

export interface ContainerUsage {
  container: string;
  /** A soft-deleted container (still billed). */
  deleted: boolean;
  billable: TierBytes;
  billableBytes: number;
  counts: { blobs: number; versions: number; snapshots: number; softDeleted: number };
  physicalBytes: number;
  /** Per blob name, when the report was asked for with `detail`. */
  blobs?: BlobUsage[];
}

export interface UsageReport {
  account: string;
  atMs: number;
  billable: TierBytes;
  billableBytes: number;
  physicalBytes: number;
  containers: ContainerUsage[];
}

export interface UsageOptions {
  /** Only this container. */
  container?: string;
  /** Include per-blob, per-object lines. */
  detail?: boolean;
}

export const emptyTierBytes = (): TierBytes => ({ Hot: 0, Cool: 0, Cold: 0, Archive: 0 });

export async function usageReport(deps: { meta: MetaStore; pages: PageStore }, account: string, now: number, options: UsageOptions = {}): Promise<UsageReport> {
  const softDeleteEnabled = (await deps.meta.read((tx) => readDataProtection(tx, account))).deleteRetention.enabled;
  // deleted: true lists soft-deleted containers as well as live ones.
  const buckets = await deps.meta.read((tx) => tx.listBuckets(account, { deleted: true, limit: BUCKETS_MAX, prefix: options.container }));
  const containers: ContainerUsage[] = [];
  const blocksByContainer: Array<Set<number>> = [];
  for (const bucket of buckets) {
    if (options.container !== undefined && bucket.name !== options.container) continue;
    const usage: ContainerUsage = {
      container: bucket.name, deleted: bucket.deletedMs !== null, billable: emptyTierBytes(), billableBytes: 0,
      counts: { blobs: 0, versions: 0, snapshots: 0, softDeleted: 0 }, physicalBytes: 0, blobs: options.detail ? [] : undefined,
    };
    const blocks = new Set<number>();
    for await (const name of namesOf(deps.meta, bucket.bucketId)) {
      const family = await deps.meta.read((tx) => readFamily(tx, deps.pages, bucket.bucketId, name, now));
      addFamily(usage, name, family, softDeleteEnabled);
      for (const id of family.blockIds) blocks.add(id);
    }
    containers.push(usage);
    blocksByContainer.push(blocks);
  }
  const footprints = await footprintsOf(deps.meta, blocksByContainer);
  containers.forEach((c, i) => (c.physicalBytes = physicalBytes(blocksByContainer[i] ?? new Set(), footprints)));
  const billable = emptyTierBytes();
  for (const c of containers) for (const tier of Object.keys(billable) as AccessTier[]) billable[tier] += c.billable[tier];
  return {
    account,
    atMs: now,
    billable,
    billableBytes: containers.reduce((sum, c) => sum + c.billableBytes, 0),
    physicalBytes: physicalBytes(new Set(blocksByContainer.flatMap((s) => [...s])), footprints),
    containers,
  };
}

interface Family {
  objects: FamilyObject[];
  blockIds: number[];
}

async function readFamily(tx: MetaReader, pages: PageStore, bucketId: number, name: string, now: number): Promise<Family> {
  const entries = await tx.listEntriesOfName(bucketId, name);
  const objects: FamilyObject[] = [];
  const blockIds: number[] = [];
  for (const entry of entries) {
    const footprint = await footprintOf(tx, pages, entry);
    objects.push(familyObject(entry, footprint, now));
    blockIds.push(...footprint.units.map((u) => u.blockId));
  }
  blockIds.push(...(await tx.listStaged(bucketId, name)).map((s) => s.blockId));
  return { objects, blockIds };
}

function familyObject(entry: EntryRecord, footprint: FamilyObject['footprint'], now: number): FamilyObject {
  const attrs = blobAttrs(entry.attrs);
  const kind = entryKind(entry);
  const state = tierOf(attrs, now);
  const id = kind === 'version' ? attrs.versionId : kind === 'snapshot' ? attrs.snapshot : undefined;
  const idTime = id ?? attrs.versionId;
  return {
    kind,
    id,
    createdMs: (idTime === undefined ? undefined : msOfTimeId(idTime)) ?? attrs.lastModifiedMs,
    tier: state.tier,
    explicitTier: !state.inferred || attrs.rehydrate !== undefined,
    tierChangedMs: state.changedMs,
    softDeleted: attrs.deleted !== undefined,
    footprint,
  };
}

function addFamily(usage: ContainerUsage, name: string, family: Family, softDeleteEnabled: boolean): void {
  const billed = billFamily(family.objects, { softDeleteEnabled });
  const billable = emptyTierBytes();
  for (const o of billed) billable[o.tier] += o.billedBytes;
  for (const tier of Object.keys(billable) as AccessTier[]) usage.billable[tier] += billable[tier];
  usage.billableBytes += billed.reduce((sum, o) => sum + o.billedBytes, 0);
  for (const o of family.objects) {
    if (o.softDeleted) usage.counts.softDeleted += 1;
    else if (o.kind === 'current') usage.counts.blobs += 1;
    else if (o.kind === 'version') usage.counts.versions += 1;
    else if (o.kind === 'snapshot') usage.counts.snapshots += 1;
  }
  usage.blobs?.push({ blob: name, billable, objects: billed });
}

async function* namesOf(meta: MetaStore, bucketId: number): AsyncGenerator<string> {
  let after: { name: string; sub: string } | undefined;
  for (;;) {
    const rows = await meta.read((tx) => tx.listEntries(bucketId, { after, limit: BATCH }));
    const last = rows[rows.length - 1];
    if (!last) return;
    // Every name once: skip the rest of the last name's entries with a seek past its subs.
    for (const name of new Set(rows.map((r) => r.name))) yield name;
    after = { name: last.name, sub: '\u{10FFFF}' };
    if (rows.length < BATCH) return;
  }
}

async function footprintsOf(meta: MetaStore, blockSets: ReadonlyArray<Set<number>>): Promise<Map<number, BlockFootprint>> {
  const ids = [...new Set(blockSets.flatMap((s) => [...s]))];
  const out = new Map<number, BlockFootprint>();
  for (let i = 0; i < ids.length; i += FOOTPRINT_BATCH) {
    const batch = ids.slice(i, i + FOOTPRINT_BATCH);
    for (const f of await meta.read((tx) => tx.blockFootprints(batch))) out.set(f.blockId, f);
  }
  return out;
}

/** Distinct extent bytes (union of chunk ranges per extent) plus inline bytes of the blocks. */
function physicalBytes(blockIds: ReadonlySet<number>, footprints: ReadonlyMap<number, BlockFootprint>): number {
  const byExtent = new Map<number, Array<[number, number]>>();
  let inline = 0;
  for (const id of blockIds) {
    const f = footprints.get(id);
    if (!f) continue;
    inline += f.inlineBytes;
    for (const c of f.chunks) {
      const ranges = byExtent.get(c.extentId) ?? [];
      ranges.push([c.offset, c.offset + c.length]);
      byExtent.set(c.extentId, ranges);
    }
  }
  let extentBytes = 0;
  for (const ranges of byExtent.values()) {
    ranges.sort((a, b) => a[0] - b[0]);
    let end = -1;
    for (const [from, to] of ranges) {
      extentBytes += Math.max(0, to - Math.max(from, end));
      end = Math.max(end, to);
    }
  }
  return extentBytes + inline;
}

function msOfTimeId(id: string): number | undefined {
  const ticks = parseTimeId(id);
  return ticks === undefined ? undefined : Number(ticks / TICKS_PER_MS);
}
