// MetadataStore: the transactional index of everything Nimbus stores, in engine terms only.
//
//   scope   a namespace owner (an account), opaque string
//   bucket  a named collection inside a scope (a container); may be marked deleted and kept
//   entry   one addressable object in a bucket, keyed (name, sub): the service decides what
//           `sub` means (current object, an older generation, a point-in-time copy); entries of
//           one name are ordered by `sub`, and `tag` is a small class number the service picks
//           so a listing can ask for one class through an index instead of filtering a scan
//   content an immutable ordered list of parts, each pointing at a block; shared by entries
//   block   bytes written once, located by chunk refs in a BlockStore (or, when small, kept inline
//           in the metadata store); shared by contents and by staged (not yet committed) parts
//
// Invariants every implementation keeps, inside the same transaction as the change:
//   - content.refs = entries pointing at it; a content with 0 refs is dropped
//   - block.refs = content parts + staged rows pointing at it; a block with 0 refs is dropped
//     together with its chunk refs, and its bytes stop counting as live in their extent
//   - write() resolves only once the transaction is durable (group commit)
// Implementations: SqliteMetaStore (embedded, default). A PostgreSQL one can implement the
// same interface: every method is async and a transaction is a plain callback.
import type { ChunkRef, Piece } from '../blocks/block-store.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface BucketRecord {
  bucketId: number;
  scope: string;
  name: string;
  createdMs: number;
  /** Set when the bucket is deleted but kept (soft delete); live buckets have null. */
  deletedMs: number | null;
  /** When a kept bucket may be dropped for good (listed by listExpiredBuckets). */
  expiresMs?: number | null;
  attrs: JsonObject;
}

export interface EntryRecord {
  bucketId: number;
  name: string;
  sub: string;
  tag: number;
  contentId: number | null;
  sizeBytes: number;
  /** When the entry may be removed for good (listed by listExpiredEntries); null = never. */
  expiresMs?: number | null;
  attrs: JsonObject;
}

export interface NameQuery {
  /** Only subs starting with this. */
  subPrefix?: string;
  descending?: boolean;
  limit?: number;
}

export interface ContentPart {
  /** The caller's label for the part (Azure: block id); may repeat. */
  label: string;
  blockId: number;
  sizeBytes: number;
}

export interface StagedPart {
  label: string;
  blockId: number;
  sizeBytes: number;
  stagedMs: number;
}

export interface EntryCursor {
  name: string;
  sub: string;
}

export interface EntryQuery {
  prefix?: string;
  /** Return entries strictly after this position (name, sub). */
  after?: EntryCursor;
  /** Only entries with this tag (served by an index ordered by name). */
  tag?: number;
  limit: number;
}

export interface BucketQuery {
  prefix?: string;
  afterName?: string;
  deleted: boolean;
  limit: number;
}

export interface ExtentUsage {
  extentId: number;
  liveBytes: number;
}

export interface MetaReader {
  getSetting(scope: string, key: string): Promise<Json | undefined>;
  getBucket(scope: string, name: string): Promise<BucketRecord | undefined>;
  getBucketById(bucketId: number): Promise<BucketRecord | undefined>;
  listBuckets(scope: string, query: BucketQuery): Promise<BucketRecord[]>;
  getEntry(bucketId: number, name: string, sub: string): Promise<EntryRecord | undefined>;
  /** Entries ordered by (name, sub). */
  listEntries(bucketId: number, query: EntryQuery): Promise<EntryRecord[]>;
  /** The entries of one name, ordered by sub (seeks on the key: cheap even with many subs). */
  listEntriesOfName(bucketId: number, name: string, query?: NameQuery): Promise<EntryRecord[]>;
  /** Entries whose expiresMs is at or before nowMs, oldest first. */
  listExpiredEntries(nowMs: number, limit: number): Promise<EntryRecord[]>;
  /** Buckets whose expiresMs is at or before nowMs. */
  listExpiredBuckets(nowMs: number, limit: number): Promise<BucketRecord[]>;
  getContent(contentId: number): Promise<ContentPart[]>;
  /** The bytes of a content as pieces in order: inline data or chunk refs. */
  getContentPieces(contentId: number): Promise<Piece[]>;
  getChunks(blockId: number): Promise<ChunkRef[]>;
  listStaged(bucketId: number, name: string): Promise<StagedPart[]>;
  hasStaged(bucketId: number, name: string): Promise<boolean>;
  /** Live bytes per extent, for garbage collection. */
  extentUsage(): Promise<ExtentUsage[]>;
  chunksInExtent(extentId: number): Promise<Array<{ blockId: number; index: number; ref: ChunkRef }>>;
}

export interface MetaWriter extends MetaReader {
  putSetting(scope: string, key: string, value: Json): Promise<void>;
  insertBucket(bucket: Omit<BucketRecord, 'bucketId'>): Promise<number>;
  updateBucket(bucketId: number, change: { attrs?: JsonObject; deletedMs?: number | null; expiresMs?: number | null; name?: string }): Promise<void>;
  /** Drops the bucket with all its entries and staged parts. */
  dropBucket(bucketId: number): Promise<void>;
  /** Insert or replace the entry at (bucketId, name, sub), adjusting content refs. */
  putEntry(entry: EntryRecord): Promise<void>;
  deleteEntry(bucketId: number, name: string, sub: string): Promise<void>;
  createContent(parts: ReadonlyArray<{ label: string; blockId: number }>): Promise<number>;
  /** A block made of pieces: extent chunks, or small bytes kept inline in the metadata store. */
  createBlock(pieces: readonly Piece[]): Promise<number>;
  /** Stage a part under a label, replacing an earlier part with the same label. */
  stagePart(bucketId: number, name: string, label: string, blockId: number, stagedMs: number): Promise<void>;
  clearStaged(bucketId: number, name: string): Promise<void>;
  /** Point chunk refs at a new location (compaction). Returns how many refs moved. */
  relocateChunk(blockId: number, index: number, from: ChunkRef, to: ChunkRef): Promise<boolean>;
}

export interface MetaStore {
  read<T>(fn: (tx: MetaReader) => Promise<T>): Promise<T>;
  /** Runs fn in one serializable transaction; resolves after the commit is durable. */
  write<T>(fn: (tx: MetaWriter) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
