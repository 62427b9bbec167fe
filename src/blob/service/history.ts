// What happens to a blob's past when it is written, deleted, snapshotted or undeleted: the rules
// of blob versioning and blob soft delete (spec/versioning-softdelete.md §2–§5), written once.
// https://learn.microsoft.com/azure/storage/blobs/versioning-overview
// https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview
//
// Overwrite of a live current blob (Put Blob, Put Block List, copies; Set Metadata is 'metadata'):
//   versioning on                  → the current state is kept as a previous version
//   versioning off, blob has an id → (versioning was turned off) kept as a previous version once
//   versioning off, soft delete on → an overwrite keeps a soft-deleted snapshot; metadata does not
//   otherwise                      → replaced in place
// Overwrite of a soft-deleted base blob: same type → it becomes a soft-deleted snapshot;
//   other type → all soft-deleted data of the name is purged (Azure's rule).
// Delete of the current blob: versioning on → it becomes a previous version, nothing remains
//   current; else soft delete on → marked deleted until retention ends; else removed.
// Choices where Azure is not explicit (pinned by tests, listed in README):
//   - a blob written before versioning was on becomes, when first modified, a version whose id is
//     its Last-Modified time (bumped past the name's newest version id if that is not later, so
//     a version is never replaced and ids keep write order);
//   - with versioning off, deleting a current blob that still has a version id follows the
//     versioning-off rules (soft delete or removal).
import type { BucketRecord, EntryRecord, MetaWriter } from '../../engine/meta/meta-store.js';
import type { PageObjectId, PageStore } from '../../engine/pages/page-store.js';
import { fail } from '../errors.js';
import type { DataProtection } from './model.js';
import {
  blobAttrs, entryKind, snapshotSub, toJson, versionSub, CURRENT_SUB, SNAPSHOT_PREFIX, TAG_CURRENT, TAG_DELETED_BASE,
  TAG_SNAPSHOT, TAG_VERSION, VERSION_PREFIX, type BlobAttrs, type SoftDeleted,
} from './records.js';
import { timeIdOf, type TimeIds } from './time-ids.js';
import { isArchived } from './tiers.js';

const DAY_MS = 86_400_000;

export interface HistoryContext {
  tx: MetaWriter;
  /** Page blobs: kept copies of a live page object are frozen views of it. */
  pages: PageStore;
  bucket: BucketRecord;
  name: string;
  protection: DataProtection;
  ids: TimeIds;
  now: number;
}

export interface NewState {
  attrs: BlobAttrs;
  contentId: number | null;
  sizeBytes: number;
  /** Page blobs: the live page object holding the pages. */
  pageObject?: number | null;
}

export type WriteKind = 'overwrite' | 'metadata';

/** Writes a new current blob, preserving what the rules above say to preserve. Returns its version id. */
export async function writeCurrent(ctx: HistoryContext, next: NewState, kind: WriteKind): Promise<string | undefined> {
  const { tx, bucket, name, protection } = ctx;
  let current = await tx.getEntry(bucket.bucketId, name, CURRENT_SUB);
  if (current && entryKind(current) === 'deleted-base') {
    await retireDeletedBase(ctx, current, next.attrs.blobType);
    current = undefined;
  }
  await checkBlobType(ctx, next.attrs.blobType);
  const previous = current ? blobAttrs(current.attrs) : undefined;
  if (current && previous) {
    if (protection.versioning || previous.versionId !== undefined) await keepAsVersion(ctx, current);
    // Overwriting an archived blob is not protected by soft delete (Azure's rule).
    else if (protection.deleteRetention.enabled && kind === 'overwrite' && !isArchived(previous, ctx.now)) await keepAsDeletedSnapshot(ctx, current);
  }
  const versionId = protection.versioning ? await nextVersionId(ctx, previous) : undefined;
  const attrs: BlobAttrs = { ...next.attrs, versionId, snapshot: undefined, deleted: undefined };
  await tx.putEntry({
    bucketId: bucket.bucketId, name, sub: CURRENT_SUB, tag: TAG_CURRENT,
    contentId: next.contentId, sizeBytes: next.sizeBytes, expiresMs: null, attrs: toJson(attrs),
    pageObject: next.pageObject ?? null, pageView: null,
  });
  return versionId;
}

/** Snapshot Blob: an immutable copy of the current blob (and, with versioning, a new version). */
export async function takeSnapshot(ctx: HistoryContext, current: EntryRecord, metadata: BlobAttrs['metadata'] | undefined): Promise<{ snapshot: string; versionId?: string }> {
  const attrs = blobAttrs(current.attrs);
  const newest = latest(await newestTimeId(ctx), attrs.versionId);
  const snapshot = ctx.ids.next(ctx.now, newest);
  await ctx.tx.putEntry({
    ...current, ...(await frozenCopy(ctx, current)), sub: snapshotSub(snapshot), tag: TAG_SNAPSHOT, expiresMs: null,
    attrs: toJson({ ...attrs, snapshot, metadata: metadata ?? attrs.metadata, lease: { state: 'available' }, versionId: undefined }),
  });
  if (!ctx.protection.versioning) return { snapshot };
  await keepAsVersion(ctx, current);
  const versionId = ctx.ids.next(ctx.now, snapshot);
  await ctx.tx.putEntry({ ...current, attrs: toJson({ ...attrs, versionId }) });
  return { snapshot, versionId };
}

/** Delete Blob without snapshot/versionid, after snapshots were handled. */
export async function deleteCurrent(ctx: HistoryContext, current: EntryRecord): Promise<void> {
  const { tx, bucket, name, protection } = ctx;
  if (protection.versioning) {
    await keepAsVersion(ctx, current);
    await tx.deleteEntry(bucket.bucketId, name, CURRENT_SUB);
  } else if (protection.deleteRetention.enabled) {
    const attrs = blobAttrs(current.attrs);
    const deleted = softDeleted(ctx);
    await tx.putEntry({ ...current, tag: TAG_DELETED_BASE, expiresMs: deleted.expiresMs, attrs: toJson({ ...attrs, deleted, lease: { state: 'available' } }) });
  } else {
    await tx.deleteEntry(bucket.bucketId, name, CURRENT_SUB);
  }
  await tx.clearStaged(bucket.bucketId, name);
}

/** Deletes a snapshot or previous version: soft when blob soft delete is on. */
export async function deleteEntryOrSoftly(ctx: HistoryContext, entry: EntryRecord): Promise<void> {
  if (!ctx.protection.deleteRetention.enabled) {
    await ctx.tx.deleteEntry(entry.bucketId, entry.name, entry.sub);
    return;
  }
  const deleted = softDeleted(ctx);
  await ctx.tx.putEntry({ ...entry, expiresMs: deleted.expiresMs, attrs: toJson({ ...blobAttrs(entry.attrs), deleted }) });
}

/**
 * Undelete Blob: restores every soft-deleted snapshot and version of the name, and the base blob
 * if no live current blob exists. Never creates a current version from a previous one.
 */
export async function undeleteAll(ctx: HistoryContext): Promise<boolean> {
  const entries = await ctx.tx.listEntriesOfName(ctx.bucket.bucketId, ctx.name);
  if (entries.length === 0) return false;
  for (const entry of entries) {
    const attrs = blobAttrs(entry.attrs);
    if (!attrs.deleted) continue;
    const restored = toJson({ ...attrs, deleted: undefined });
    const kind = entryKind(entry);
    const tag = kind === 'deleted-base' ? TAG_CURRENT : kind === 'version' ? TAG_VERSION : TAG_SNAPSHOT;
    await ctx.tx.putEntry({ ...entry, tag, expiresMs: null, attrs: restored });
  }
  return true;
}

/** Live (not soft-deleted) snapshots of the name. */
export async function liveSnapshots(ctx: Pick<HistoryContext, 'tx' | 'bucket' | 'name'>): Promise<EntryRecord[]> {
  const snapshots = await ctx.tx.listEntriesOfName(ctx.bucket.bucketId, ctx.name, { subPrefix: SNAPSHOT_PREFIX });
  return snapshots.filter((s) => !blobAttrs(s.attrs).deleted);
}

async function keepAsVersion(ctx: HistoryContext, current: EntryRecord): Promise<void> {
  const attrs = blobAttrs(current.attrs);
  const versionId = attrs.versionId ?? (await unversionedId(ctx, attrs.lastModifiedMs));
  await ctx.tx.putEntry({
    ...current, ...(await frozenCopy(ctx, current)), sub: versionSub(versionId), tag: TAG_VERSION, expiresMs: null,
    attrs: toJson({ ...attrs, versionId, lease: { state: 'available' } }),
  });
}

/**
 * The id a blob without one gets when it is kept as a version: its Last-Modified, unless the name
 * already has a version at or after that instant (versioning was on, then off, then on again, or the
 * clock stepped back) — then the next free id, so no version is overwritten and ids keep write order.
 */
async function unversionedId(ctx: HistoryContext, lastModifiedMs: number): Promise<string> {
  const id = timeIdOf(lastModifiedMs);
  const [newest] = await ctx.tx.listEntriesOfName(ctx.bucket.bucketId, ctx.name, { subPrefix: VERSION_PREFIX, descending: true, limit: 1 });
  const newestId = newest?.sub.slice(VERSION_PREFIX.length);
  return newestId !== undefined && id <= newestId ? ctx.ids.next(ctx.now, newestId) : id;
}

async function keepAsDeletedSnapshot(ctx: HistoryContext, entry: EntryRecord): Promise<void> {
  const attrs = blobAttrs(entry.attrs);
  const snapshot = ctx.ids.next(ctx.now, await newestTimeId(ctx));
  const deleted = attrs.deleted ?? softDeleted(ctx);
  await ctx.tx.putEntry({
    ...entry, ...(await frozenCopy(ctx, entry)), sub: snapshotSub(snapshot), tag: TAG_SNAPSHOT, expiresMs: deleted.expiresMs,
    attrs: toJson({ ...attrs, snapshot, deleted, lease: { state: 'available' }, versionId: undefined }),
  });
}

/** A soft-deleted base blob in the way of a new write. */
async function retireDeletedBase(ctx: HistoryContext, base: EntryRecord, newType: BlobAttrs['blobType']): Promise<void> {
  if (blobAttrs(base.attrs).blobType === newType) {
    await keepAsDeletedSnapshot(ctx, base);
    return;
  }
  for (const entry of await ctx.tx.listEntriesOfName(ctx.bucket.bucketId, ctx.name)) {
    if (blobAttrs(entry.attrs).deleted) await ctx.tx.deleteEntry(entry.bucketId, entry.name, entry.sub);
  }
}

/** All versions of a name share one blob type (409 InvalidBlobType otherwise). */
async function checkBlobType(ctx: HistoryContext, blobType: BlobAttrs['blobType']): Promise<void> {
  const [latest] = await ctx.tx.listEntriesOfName(ctx.bucket.bucketId, ctx.name, { subPrefix: VERSION_PREFIX, descending: true, limit: 1 });
  if (latest && blobAttrs(latest.attrs).blobType !== blobType) fail('InvalidBlobType');
}

async function nextVersionId(ctx: HistoryContext, previous: BlobAttrs | undefined): Promise<string> {
  return ctx.ids.next(ctx.now, latest(previous?.versionId, await newestTimeId(ctx)));
}

/** The later of two time ids (same fixed-width format, so string order is time order). */
function latest(a: string | undefined, b: string | undefined): string | undefined {
  return a === undefined ? b : b === undefined || a > b ? a : b;
}

/** The newest version id or snapshot time the name already has (ids must keep increasing). */
async function newestTimeId(ctx: HistoryContext): Promise<string | undefined> {
  const { tx, bucket, name } = ctx;
  const [version] = await tx.listEntriesOfName(bucket.bucketId, name, { subPrefix: VERSION_PREFIX, descending: true, limit: 1 });
  const [snapshot] = await tx.listEntriesOfName(bucket.bucketId, name, { subPrefix: SNAPSHOT_PREFIX, descending: true, limit: 1 });
  const ids = [version?.sub.slice(1), snapshot?.sub.slice(1)].filter((id): id is string => id !== undefined);
  return ids.sort().at(-1);
}

/**
 * The page fields of an immutable copy of an entry (a snapshot or version made from it). Block
 * blob contents are immutable already; a live page object is frozen into a view the copy owns.
 * (The entry that loses its page object, if any, queues it for release in the engine.)
 */
async function frozenCopy(ctx: HistoryContext, entry: EntryRecord): Promise<{ pageObject: null; pageView: number | null }> {
  if (entry.pageObject === null || entry.pageObject === undefined) return { pageObject: null, pageView: null };
  return { pageObject: null, pageView: await ctx.pages.freeze(ctx.tx, entry.pageObject as PageObjectId) };
}

function softDeleted(ctx: HistoryContext): SoftDeleted {
  return { deletedMs: ctx.now, expiresMs: ctx.now + ctx.protection.deleteRetention.days * DAY_MS };
}
