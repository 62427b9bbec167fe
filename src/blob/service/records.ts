// How blob-service state is kept in the engine's generic records.
//
//   container → bucket (scope = account), attrs = ContainerAttrs; a soft-deleted container keeps
//               its bucket with deletedMs/expiresMs set
//   blob name → entries keyed (name, sub), sorted by sub so a listing shows, per name,
//
//       S<time>   snapshots, oldest first                     tag SNAPSHOT
//       V<id>     previous versions, oldest first             tag VERSION
//       ~         the current blob (or a soft-deleted base)   tag CURRENT / DELETED_BASE
//
//   Version ids and snapshot times share one fixed-width ISO format, so string order is time order.
//   A soft-deleted snapshot or version keeps its sub and tag and carries `deleted` (and expiresMs,
//   which the purge job follows); a soft-deleted base blob changes tag to DELETED_BASE so the
//   default listing (tag CURRENT, served by an index) never even reads it.
import type { EntryRecord, Json, JsonObject } from '../../engine/meta/meta-store.js';
import { leaseView } from './leases.js';
import type {
  AccessTier, BlobHttpHeaders, BlobType, BlobView, ContainerView, CopyState, Lease, Metadata, PublicAccess, RehydratePriority, SignedIdentifier,
} from './model.js';
import { tierOf } from './tiers.js';

export const CURRENT_SUB = '~';
export const SNAPSHOT_PREFIX = 'S';
export const VERSION_PREFIX = 'V';
export const versionSub = (versionId: string): string => VERSION_PREFIX + versionId;
export const snapshotSub = (snapshot: string): string => SNAPSHOT_PREFIX + snapshot;

export const TAG_CURRENT = 0;
export const TAG_VERSION = 1;
export const TAG_SNAPSHOT = 2;
export const TAG_DELETED_BASE = 3;

export type EntryKind = 'current' | 'deleted-base' | 'version' | 'snapshot';

export function entryKind(entry: EntryRecord): EntryKind {
  if (entry.sub === CURRENT_SUB) return entry.tag === TAG_DELETED_BASE ? 'deleted-base' : 'current';
  return entry.sub.startsWith(VERSION_PREFIX) ? 'version' : 'snapshot';
}

export interface SoftDeleted {
  deletedMs: number;
  expiresMs: number;
}

export interface ContainerAttrs {
  etag: string;
  lastModifiedMs: number;
  metadata: Metadata;
  publicAccess: PublicAccess | null;
  lease: Lease;
  acl: SignedIdentifier[];
  /** Set when soft-deleted: the deleted-container version Restore Container names. */
  deletedVersion?: string;
}

export interface BlobAttrs {
  blobType: BlobType;
  etag: string;
  lastModifiedMs: number;
  createdMs: number;
  headers: BlobHttpHeaders;
  metadata: Metadata;
  lease: Lease;
  copy: CopyState | null;
  /** The version id, when the blob was written with versioning on. */
  versionId?: string;
  /** Set on snapshot entries. */
  snapshot?: string;
  /** Set while soft-deleted. */
  deleted?: SoftDeleted;
  /** The tier, when one was set explicitly (absent: inferred from the account default). */
  tier?: AccessTier;
  tierChangedMs?: number;
  /** A pending rehydration out of Archive (see tiers.ts). */
  rehydrate?: { to: AccessTier; priority: RehydratePriority; completesMs: number };
  /** Page blobs: x-ms-blob-sequence-number. */
  sequenceNumber?: number;
  /** Append blobs: x-ms-blob-committed-block-count, and whether the blob is sealed. */
  committedBlockCount?: number;
  sealed?: boolean;
  /**
   * Page blobs made by Incremental Copy Blob (read-only but for Delete): the base blob they copy
   * (its URL without query, and its name), the source snapshot copied last, and the destination
   * snapshot that copy created (unset on the snapshots themselves: theirs is their own time).
   */
  incrementalCopy?: IncrementalCopyAttrs;
}

export interface IncrementalCopyAttrs {
  sourceBlob: string;
  sourceRef: { account: string; container: string; blob: string };
  lastSnapshot: string;
  destinationSnapshot?: string;
}

// The engine stores attrs as JSON; these casts are the one place the shapes are asserted.
export const toJson = (value: ContainerAttrs | BlobAttrs): JsonObject => value as unknown as JsonObject;
export const containerAttrs = (attrs: JsonObject): ContainerAttrs => attrs as unknown as ContainerAttrs;
export const blobAttrs = (attrs: JsonObject): BlobAttrs => attrs as unknown as BlobAttrs;
export const asJson = (value: unknown): Json => value as Json;

export function containerView(name: string, attrs: ContainerAttrs, now: number): ContainerView {
  return {
    name,
    etag: attrs.etag,
    lastModifiedMs: attrs.lastModifiedMs,
    metadata: attrs.metadata,
    publicAccess: attrs.publicAccess,
    lease: leaseView(attrs.lease, now),
  };
}

export function blobView(entry: EntryRecord, now: number): BlobView {
  const attrs = blobAttrs(entry.attrs);
  const kind = entryKind(entry);
  return {
    name: entry.name,
    blobType: attrs.blobType,
    sizeBytes: entry.sizeBytes,
    etag: attrs.etag,
    lastModifiedMs: attrs.lastModifiedMs,
    createdMs: attrs.createdMs,
    headers: attrs.headers,
    metadata: attrs.metadata,
    lease: kind === 'current' ? leaseView(attrs.lease, now) : { status: 'unlocked', state: 'available' },
    copy: copyStateAt(attrs, now),
    versionId: attrs.versionId,
    isCurrentVersion: kind === 'current' && attrs.versionId !== undefined ? true : undefined,
    snapshot: attrs.snapshot,
    deleted: attrs.deleted ? { deletedMs: attrs.deleted.deletedMs, remainingDays: remainingDays(attrs.deleted.expiresMs, now) } : undefined,
    tier: attrs.blobType === 'BlockBlob' ? tierOf(attrs, now) : undefined,
    sequenceNumber: attrs.blobType === 'PageBlob' ? attrs.sequenceNumber ?? 0 : undefined,
    append: attrs.blobType === 'AppendBlob' ? { committedBlockCount: attrs.committedBlockCount ?? 0, sealed: attrs.sealed === true } : undefined,
    incrementalCopy: attrs.incrementalCopy ? { destinationSnapshot: attrs.incrementalCopy.destinationSnapshot ?? attrs.snapshot } : undefined,
  };
}

export function remainingDays(expiresMs: number, now: number): number {
  return Math.max(0, Math.ceil((expiresMs - now) / 86_400_000));
}

/** A copy out of Archive is pending until its rehydration completes; then it reads as a success. */
function copyStateAt(attrs: BlobAttrs, now: number): BlobAttrs['copy'] {
  const copy = attrs.copy;
  const r = attrs.rehydrate;
  if (!copy || copy.status !== 'pending' || !r || r.completesMs > now) return copy;
  const total = copy.progress.split('/')[1] ?? '0';
  return { ...copy, status: 'success', completionMs: r.completesMs, progress: `${total}/${total}` };
}
