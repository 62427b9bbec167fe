// The blob service's vocabulary: what adapters pass in and get back. Plain data, no HTTP.
// Timestamps are epoch milliseconds; the adapter formats them (RFC 1123 / ISO 8601).
import type { ContentStream } from '../../engine/blocks/block-store.js';

export type { ContentStream };

export type BlobType = 'BlockBlob' | 'PageBlob' | 'AppendBlob';
export type AccessTier = 'Hot' | 'Cool' | 'Cold' | 'Archive';
export type RehydratePriority = 'Standard' | 'High';
export type PublicAccess = 'container' | 'blob';

/** A lease as stored; its effective state also depends on the clock (see leases.ts). */
export type Lease =
  | { state: 'available' }
  | { state: 'leased'; leaseId: string; durationSec: number; expiresMs: number | null }
  | { state: 'breaking'; leaseId: string; breakMs: number }
  | { state: 'broken' };

/** What Get Properties reports about a lease at a given time. */
export interface LeaseView {
  status: 'locked' | 'unlocked';
  state: 'available' | 'leased' | 'expired' | 'breaking' | 'broken';
  duration?: 'infinite' | 'fixed';
}

export type Metadata = Record<string, string>;

export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSinceMs?: number;
  ifUnmodifiedSinceMs?: number;
}

export interface BlobHttpHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  cacheControl?: string;
  /** Base64 MD5 stored as the blob's Content-MD5. */
  contentMd5?: string;
}

export interface ContainerRef {
  account: string;
  container: string;
}

export interface BlobRef extends ContainerRef {
  blob: string;
}

export interface SignedIdentifier {
  id: string;
  startMs?: number;
  expiryMs?: number;
  permissions?: string;
}

export interface ContainerView {
  name: string;
  /** Soft-deleted containers (List Containers with include=deleted). */
  deleted?: { version: string; deletedMs: number; remainingDays: number };
  etag: string;
  lastModifiedMs: number;
  metadata: Metadata;
  publicAccess: PublicAccess | null;
  lease: LeaseView;
}

export interface CopyState {
  copyId: string;
  source: string;
  status: 'pending' | 'success' | 'aborted' | 'failed';
  progress: string;
  completionMs: number | null;
  statusDescription?: string;
}

export interface BlobView {
  name: string;
  blobType: BlobType;
  sizeBytes: number;
  etag: string;
  lastModifiedMs: number;
  createdMs: number;
  headers: BlobHttpHeaders;
  metadata: Metadata;
  lease: LeaseView;
  copy: CopyState | null;
  versionId?: string;
  /** True on the current version of a versioned blob; undefined otherwise. */
  isCurrentVersion?: boolean;
  snapshot?: string;
  deleted?: { deletedMs: number; remainingDays: number };
  /** Listing only: a name whose current version is deleted but that still has versions. */
  hasVersionsOnly?: boolean;
  /** Page blobs only. */
  sequenceNumber?: number;
  /** Append blobs only. */
  append?: { committedBlockCount: number; sealed: boolean };
  /** Incremental-copy page blobs and their snapshots: x-ms-incremental-copy, x-ms-copy-destination-snapshot. */
  incrementalCopy?: { destinationSnapshot?: string };
  /** Block blobs only. */
  tier?: { tier: AccessTier; inferred: boolean; changedMs?: number; rehydrating?: { to: AccessTier; priority: RehydratePriority } };
}

export interface WriteResult {
  etag: string;
  lastModifiedMs: number;
  contentMd5?: string;
  /** The id of the new current version, when versioning created one. */
  versionId?: string;
}

/** Which object of a blob name an operation addresses. */
export interface BlobSelector {
  snapshot?: string;
  versionId?: string;
}

export interface BodySource {
  stream: AsyncIterable<Buffer | Uint8Array>;
  /** Content-Length when the client sent one. */
  lengthBytes: number | undefined;
  /** Content-MD5 the client sent, base64; checked against the bytes. */
  md5?: string;
}

export interface PutBlobRequest {
  body: BodySource;
  headers: BlobHttpHeaders;
  metadata: Metadata;
  conditions: Conditions;
  leaseId?: string;
  /** x-ms-access-tier: an explicit tier at creation. */
  tier?: AccessTier;
}

export type BlockListItem = { kind: 'committed' | 'uncommitted' | 'latest'; blockId: string };

export interface PutBlockListRequest {
  items: BlockListItem[];
  headers: BlobHttpHeaders;
  metadata: Metadata;
  conditions: Conditions;
  leaseId?: string;
  tier?: AccessTier;
}

export interface BlockInfo {
  name: string;
  sizeBytes: number;
}

export interface BlockListView {
  blob: BlobView | undefined;
  committed: BlockInfo[];
  uncommitted: BlockInfo[];
}

export interface ByteRange {
  start: number;
  /** Inclusive end; undefined = to the end of the blob. */
  end?: number;
}

export interface GetBlobResult {
  blob: BlobView;
  /** The byte range served, or undefined for the whole blob. */
  range: { start: number; end: number } | undefined;
  /** The bytes, already read, when the range is small; open() then streams this same buffer. */
  buffered: Buffer | undefined;
  /** Call exactly once to stream the bytes; the read guard is released when it ends. */
  open(): ContentStream;
  /** Releases the read guard when the body is not streamed (HEAD, errors). */
  discard(): void;
}

export interface ListBlobsRequest {
  prefix?: string;
  delimiter?: string;
  marker?: string;
  maxResults: number;
  include: ListInclude;
}

export interface ListInclude {
  metadata?: boolean;
  snapshots?: boolean;
  versions?: boolean;
  deleted?: boolean;
  deletedWithVersions?: boolean;
}

export interface ListBlobsResult {
  blobs: BlobView[];
  prefixes: string[];
  nextMarker: string | undefined;
}

export interface ListContainersRequest {
  prefix?: string;
  marker?: string;
  maxResults: number;
  includeMetadata: boolean;
  includeDeleted?: boolean;
}

export interface ListContainersResult {
  containers: ContainerView[];
  nextMarker: string | undefined;
}

export type LeaseAction =
  | { action: 'acquire'; durationSec: number; proposedLeaseId?: string }
  | { action: 'renew'; leaseId: string }
  | { action: 'change'; leaseId: string; proposedLeaseId: string }
  | { action: 'release'; leaseId: string }
  | { action: 'break'; breakPeriodSec?: number };

export interface LeaseResult {
  etag: string;
  lastModifiedMs: number;
  leaseId?: string;
  /** Seconds until a broken lease is free (break only). */
  leaseTimeSec?: number;
}

/** Source of a server-side copy, already resolved from its URL by the adapter. */
export interface CopySource {
  ref: BlobRef;
  /** A snapshot or version of the source (`?snapshot=` / `?versionid=` on its URL). */
  selector?: BlobSelector;
  /** The source URL's query parameters (its SAS, if any), for the adapter's authorization. */
  sourceQuery?: ReadonlyArray<readonly [string, string]>;
  url: string;
  /** Inclusive byte range of the source (Put Block From URL). */
  range?: { start: number; end: number };
  conditions: Conditions;
}

export interface SnapshotResult extends WriteResult {
  snapshot: string;
}

export interface CopyResult extends WriteResult {
  copyId: string;
  copyStatus: 'success' | 'pending';
}

/** Blob service properties as Azure's XML has them, stored opaquely per account. */
export interface ServiceProperties {
  logging?: unknown;
  hourMetrics?: unknown;
  minuteMetrics?: unknown;
  cors?: unknown;
  defaultServiceVersion?: string;
  deleteRetentionPolicy?: { enabled: boolean; days?: number; allowPermanentDelete?: boolean };
  staticWebsite?: unknown;
}

/**
 * The data-protection switches of an account's blob service. In Azure they live on the management
 * plane (`blobServices/default`); blob soft delete is also the data plane's DeleteRetentionPolicy
 * (one stored setting, two ways to reach it).
 */
export interface DataProtection {
  versioning: boolean;
  deleteRetention: { enabled: boolean; days: number; allowPermanentDelete: boolean };
  containerDeleteRetention: { enabled: boolean; days: number };
}

export type DataProtectionChange = {
  versioning?: boolean;
  deleteRetention?: Partial<DataProtection['deleteRetention']>;
  containerDeleteRetention?: Partial<DataProtection['containerDeleteRetention']>;
};
