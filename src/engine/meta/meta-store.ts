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
  /**
   * A page object (live bytes) or frozen page view the entry owns. When the entry is deleted or
   * stops owning it, the id is queued for PageStore.releasePending (listPageReleases).
   */
  pageObject?: number | null;
  pageView?: number | null;
  attrs: JsonObject;
}

export interface PageRelease {
  releaseId: number;
  objectId: number | null;
  viewId: number | null;
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

/** Billing: the physical footprint of one block (chunk refs may be shared with other blocks). */
export interface BlockFootprint {
  blockId: number;
  chunks: ChunkRef[];
  inlineBytes: number;
}

export interface ExtentUsage {
  extentId: number;
  liveBytes: number;
}

// ---- pages: storage primitives of the page-range engine (src/engine/pages/) ----
// The range algorithms live in engine/pages; a backend only stores and seeks these rows.
//   lineage  one page object's history: head_seq counts its mutations; live = false once the
//            object is dropped while frozen views of it remain
//   view     a frozen point (lineage, seq) with the size at that point
//   range    [start, end) of a lineage holds bytes from blockOffset of blockId; visible to every
//            seq in [born, died) (died = PAGE_SEQ_LIVE while current); each row is a block ref
//   change   what mutation `seq` touched, kept while some view may diff across it

/** `died` of a current page range: above every seq, exact in SQLite int64 and in a JS number. */
export const PAGE_SEQ_LIVE = Number.MAX_SAFE_INTEGER;
/**
 * No page range row is longer than this. Backends rely on it to seek: a row overlapping offset x
 * starts after x - PAGE_RANGE_BYTES_MAX. Persisted data depends on it; never raise it.
 */
export const PAGE_RANGE_BYTES_MAX = 4 * 1024 * 1024;

export interface PageLineageRecord {
  lineageId: number;
  headSeq: number;
  sizeBytes: number;
  live: boolean;
}

export interface PageViewRecord {
  viewId: number;
  lineageId: number;
  seq: number;
  sizeBytes: number;
}

export interface PageRangeRow {
  rowId: number;
  start: number;
  end: number;
  born: number;
  died: number;
  blockId: number;
  blockOffset: number;
}

export type NewPageRange = Omit<PageRangeRow, 'rowId' | 'died'>;

export interface PageChangeRecord {
  seq: number;
  cleared: boolean;
  start: number;
  end: number;
}

/** Which rows a range query sees: the current map, or the map as of a seq. */
export type PageAt = { kind: 'current' } | { kind: 'seq'; seq: number };

/** Dead rows with born in (bornAfter, bornUpto] and died in (diedAfter, diedUpto]. */
export interface PageRangeWindow {
  bornAfter: number;
  bornUpto: number;
  diedAfter: number;
  diedUpto: number;
}

export interface MetaReader {
  getSetting(scope: string, key: string): Promise<Json | undefined>;
  getBucket(scope: string, name: string): Promise<BucketRecord | undefined>;
  getBucketById(bucketId: number): Promise<BucketRecord | undefined>;
  listBuckets(scope: string, query: BucketQuery): Promise<BucketRecord[]>;
  getEntry(bucketId: number, name: string, sub: string): Promise<EntryRecord | undefined>;
  /** getEntry and getContentPieces of its content in one lookup (the read path of a small GET). */
  getEntryWithPieces(bucketId: number, name: string, sub: string): Promise<{ entry: EntryRecord; pieces: Piece[] } | undefined>;
  /** Entries ordered by (name, sub). */
  listEntries(bucketId: number, query: EntryQuery): Promise<EntryRecord[]>;
  /** The entries of one name, ordered by sub (seeks on the key: cheap even with many subs). */
  listEntriesOfName(bucketId: number, name: string, query?: NameQuery): Promise<EntryRecord[]>;
  /** Page objects and views no entry owns any more, oldest first. */
  listPageReleases(limit: number): Promise<PageRelease[]>;
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

  // ---- pages ----
  getPageLineage(lineageId: number): Promise<PageLineageRecord | undefined>;
  getPageView(viewId: number): Promise<PageViewRecord | undefined>;
  /** Lowest and highest seq of the lineage's views; undefined when it has none. */
  pageViewSeqRange(lineageId: number): Promise<{ min: number; max: number } | undefined>;
  /** The closest view seqs at or below / at or above seq (null when none). */
  pageViewNeighbours(lineageId: number, seq: number): Promise<{ below: number | null; above: number | null }>;
  /** Rows visible at `at` that overlap [start, end), ordered by start (they never overlap each other). */
  pageRangesAt(lineageId: number, at: PageAt, start: number, end: number): Promise<PageRangeRow[]>;
  /** Changes with seq in (afterSeq, uptoSeq], ordered by seq. */
  pageChanges(lineageId: number, afterSeq: number, uptoSeq: number): Promise<PageChangeRecord[]>;
  /** A block's bytes as pieces in order, inline pieces included. */
  getBlockPieces(blockId: number): Promise<Piece[]>;

  // ---- billing: where blocks' bytes physically are (blob/service/billing/) ----
  /** For each known block: its extent chunk refs and how many of its bytes are kept inline. */
  blockFootprints(blockIds: readonly number[]): Promise<BlockFootprint[]>;
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
  deletePageRelease(releaseId: number): Promise<void>;
  createContent(parts: ReadonlyArray<{ label: string; blockId: number }>): Promise<number>;
  /**
   * Appends a part to a content that exactly one entry references (an append blob's own content).
   * Returns false, changing nothing, if the content is shared (a snapshot or version points at it
   * too): the caller then copies it first, so shared contents stay immutable.
   */
  appendToContent(contentId: number, part: { label: string; blockId: number }): Promise<boolean>;
  /** A block made of pieces: extent chunks, or small bytes kept inline in the metadata store. */
  createBlock(pieces: readonly Piece[]): Promise<number>;
  /** Stage a part under a label, replacing an earlier part with the same label. */
  stagePart(bucketId: number, name: string, label: string, blockId: number, stagedMs: number): Promise<void>;
  clearStaged(bucketId: number, name: string): Promise<void>;
  /** Point chunk refs at a new location (compaction). Returns how many refs moved. */
  relocateChunk(blockId: number, index: number, from: ChunkRef, to: ChunkRef): Promise<boolean>;

  // ---- pages ----
  insertPageLineage(sizeBytes: number): Promise<number>;
  updatePageLineage(lineageId: number, change: { headSeq?: number; sizeBytes?: number; live?: boolean }): Promise<void>;
  /** Drops the lineage with its views, range rows (releasing their block refs) and changes. */
  deletePageLineage(lineageId: number): Promise<void>;
  insertPageView(lineageId: number, seq: number, sizeBytes: number): Promise<number>;
  deletePageView(viewId: number): Promise<void>;
  insertPageRanges(lineageId: number, rows: readonly NewPageRange[]): Promise<void>;
  /** Ends current rows at diedSeq: they stay visible to views older than it. */
  endPageRanges(rowIds: readonly number[], diedSeq: number): Promise<void>;
  deletePageRanges(rowIds: readonly number[]): Promise<void>;
  /** Deletes the dead rows of a window (rows no remaining view can see). Returns how many. */
  collectPageRanges(lineageId: number, window: PageRangeWindow): Promise<number>;
  /** Copies the rows visible at `at` of one lineage into another as current rows born at seq 0. */
  copyPageRanges(sourceLineageId: number, at: PageAt, targetLineageId: number): Promise<number>;
  appendPageChange(lineageId: number, change: PageChangeRecord): Promise<void>;
  /** Deletes changes with seq in (afterSeq, uptoSeq]. */
  trimPageChanges(lineageId: number, afterSeq: number, uptoSeq: number): Promise<void>;
}

export interface MetaStore {
  read<T>(fn: (tx: MetaReader) => Promise<T>): Promise<T>;
  /** Runs fn in one serializable transaction; resolves after the commit is durable. */
  write<T>(fn: (tx: MetaWriter) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
