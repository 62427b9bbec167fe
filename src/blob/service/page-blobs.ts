// Page blobs: https://learn.microsoft.com/rest/api/storageservices/put-page and get-page-ranges
// (spec/blob-rest.md §19). A page blob's bytes live in the page-range engine (engine/pages): the
// current blob owns a live page object, its snapshots and versions own frozen views of it, so a
// snapshot is O(1) and the diff between two of them costs what changed between them.
//
//   Put Blob (PageBlob)  → create a page object of the declared size (all pages unwritten)
//   Put Page / Clear     → write / clear 512-aligned ranges (≤ 4 MiB per Put Page); no new version
//   resize, sequence no. → Set Blob Properties variants; no new version
//   Get Page Ranges      → valid ranges, or a diff against `prevsnapshot` / a previous snapshot URL
//
// Page writes change ETag and Last-Modified but never create versions or soft-deleted snapshots.
import type { BucketRecord, EntryRecord, MetaReader, MetaStore, MetaWriter } from '../../engine/meta/meta-store.js';
import type { BlockStore, Piece } from '../../engine/blocks/block-store.js';
import { PageError, viewSource, objectSource, PAGE_BYTES, type ByteRange, type PageObjectId, type PageSource, type PageSpan, type PageStore, type PageViewId } from '../../engine/pages/page-store.js';
import { Readable } from 'node:stream';
import type { EtagSource } from '../../platform/ids.js';
import { fail } from '../errors.js';
import { checkConditions } from './conditions.js';
import { readBuffer, readStream, storeBody } from './content.js';
import { findContainer } from './containers.js';
import { checkWriteLease } from './leases.js';
import { blobAttrs, entryKind, toJson, CURRENT_SUB, type BlobAttrs } from './records.js';
import type { BodySource, Conditions, WriteResult, BlobRef } from './model.js';

export const PAGE_BLOB_SIZE_MAX = 8 * 1024 ** 4;
const PUT_PAGE_BYTES_MAX = 4 * 1024 * 1024;
const SEQUENCE_MAX = 2n ** 63n - 1n;

export interface SequenceConditions {
  le?: number;
  lt?: number;
  eq?: number;
}

export interface PageWriteOptions {
  conditions: Conditions;
  leaseId?: string;
  sequence?: SequenceConditions;
}

export type SequenceAction = { action: 'max' | 'update'; value: number } | { action: 'increment' };

export interface PageRangesResult {
  blob: { etag: string; lastModifiedMs: number; sizeBytes: number };
  ranges: ByteRange[];
  cleared: ByteRange[];
  nextMarker?: string;
}

export interface PageBlobDeps {
  meta: MetaStore;
  blocks: BlockStore;
  pages: PageStore;
  etags: EtagSource;
}

/** Put Blob with x-ms-blob-type: PageBlob. The caller commits through the history rules. */
export async function createPageObject(tx: MetaWriter, pages: PageStore, sizeBytes: number): Promise<PageObjectId> {
  checkPageSize(sizeBytes);
  return pages.create(tx, sizeBytes);
}

export function checkPageSize(sizeBytes: number): void {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes % PAGE_BYTES !== 0 || sizeBytes > PAGE_BLOB_SIZE_MAX) {
    fail('InvalidHeaderValue', { HeaderName: 'x-ms-blob-content-length', HeaderValue: String(sizeBytes) });
  }
}

export function checkPageRange(range: ByteRange, sizeBytes: number): void {
  if (range.start % PAGE_BYTES !== 0 || range.end % PAGE_BYTES !== 0 || range.end <= range.start || range.end > sizeBytes) {
    fail('InvalidPageRange');
  }
}

export class PageBlobs {
  constructor(private readonly deps: PageBlobDeps) {}

  async putPages(ref: BlobRef, range: ByteRange, body: BodySource, options: PageWriteOptions, now: number): Promise<WriteResult & { sequenceNumber: number }> {
    if (range.end - range.start > PUT_PAGE_BYTES_MAX) fail('RequestBodyTooLarge');
    if (body.lengthBytes !== undefined && body.lengthBytes !== range.end - range.start) fail('InvalidHeaderValue', { HeaderName: 'Content-Length' });
    await this.deps.meta.read(async (tx) => checkPageRange(range, (await this.#current(tx, ref)).entry.sizeBytes));
    const stored = await storeBody(this.deps.blocks, { ...body, lengthBytes: range.end - range.start }, PUT_PAGE_BYTES_MAX);
    try {
      return await this.#mutate(ref, options, now, async (tx, entry) => {
        checkPageRange(range, entry.sizeBytes);
        const pieces: Piece[] = stored.kind === 'inline' ? [{ inline: stored.data, length: stored.sizeBytes }] : stored.chunks;
        await this.deps.pages.write(tx, pageObjectOf(entry), range.start, pieces);
        return { contentMd5: stored.md5 };
      });
    } finally {
      stored.unpin();
    }
  }

  async clearPages(ref: BlobRef, range: ByteRange, options: PageWriteOptions, now: number): Promise<WriteResult & { sequenceNumber: number }> {
    return this.#mutate(ref, options, now, async (tx, entry) => {
      checkPageRange(range, entry.sizeBytes);
      await this.deps.pages.clear(tx, pageObjectOf(entry), range);
      return {};
    });
  }

  /** Put Page From URL: copies the source range's bytes (≤ 4 MiB) into the target range. */
  async putPagesFromBytes(ref: BlobRef, range: ByteRange, bytes: Buffer, options: PageWriteOptions, now: number): Promise<WriteResult & { sequenceNumber: number }> {
    return this.putPages(ref, range, { stream: Readable.from([bytes]), lengthBytes: bytes.length }, options, now);
  }

  async resize(ref: BlobRef, sizeBytes: number, options: PageWriteOptions, now: number): Promise<WriteResult & { sequenceNumber: number }> {
    checkPageSize(sizeBytes);
    return this.#mutate(ref, options, now, async (tx, entry) => {
      await this.deps.pages.resize(tx, pageObjectOf(entry), sizeBytes);
      return { sizeBytes };
    });
  }

  async updateSequenceNumber(ref: BlobRef, action: SequenceAction, options: PageWriteOptions, now: number): Promise<WriteResult & { sequenceNumber: number }> {
    return this.#mutate(ref, options, now, async (_tx, entry) => {
      const current = blobAttrs(entry.attrs).sequenceNumber ?? 0;
      const next = action.action === 'increment' ? current + 1 : action.action === 'max' ? Math.max(current, action.value) : action.value;
      if (BigInt(next) > SEQUENCE_MAX) fail('SequenceNumberIncrementTooLarge');
      return { sequenceNumber: next };
    });
  }

  /** Get Page Ranges, plain or as a diff against an older snapshot of the same blob. */
  async getPageRanges(
    tx: MetaReader, source: PageSource, entry: EntryRecord, options: { range?: ByteRange; previous?: PageViewId; marker?: string; maxResults?: number },
  ): Promise<PageRangesResult> {
    const attrs = blobAttrs(entry.attrs);
    const blob = { etag: attrs.etag, lastModifiedMs: attrs.lastModifiedMs, sizeBytes: entry.sizeBytes };
    const window = clipWindow(options.range, entry.sizeBytes, options.marker);
    if (options.previous === undefined) {
      const ranges = await this.deps.pages.validRanges(tx, source, window);
      return page({ blob, ranges, cleared: [] }, options.maxResults);
    }
    const diff = await mapPageErrors(() => this.deps.pages.diff(tx, options.previous as PageViewId, source));
    return page({ blob, ranges: clip(diff.written, window), cleared: clip(diff.cleared, window) }, options.maxResults);
  }

  /** Bytes [start, end) of a page blob: written pages from the block store, zeros elsewhere. */
  async readSpans(tx: MetaReader, source: PageSource, start: number, end: number): Promise<PageSpan[]> {
    if (end <= start) return [];
    return this.deps.pages.read(tx, source, { start: alignDown(start), end: alignUp(end) });
  }

  async #current(tx: MetaReader, ref: BlobRef): Promise<{ bucket: BucketRecord; entry: EntryRecord }> {
    const bucket = await findContainer(tx, ref);
    const entry = await tx.getEntry(bucket.bucketId, ref.blob, CURRENT_SUB);
    if (!entry || entryKind(entry) !== 'current') fail('BlobNotFound');
    if (blobAttrs(entry.attrs).blobType !== 'PageBlob') fail('InvalidBlobType');
    return { bucket, entry };
  }

  /** One page-blob change: checks, the change itself, then a new ETag and Last-Modified in place. */
  async #mutate(
    ref: BlobRef, options: PageWriteOptions, now: number,
    change: (tx: MetaWriter, entry: EntryRecord) => Promise<{ contentMd5?: string; sizeBytes?: number; sequenceNumber?: number }>,
  ): Promise<WriteResult & { sequenceNumber: number }> {
    return this.deps.meta.write(async (tx) => {
      const { entry } = await this.#current(tx, ref);
      const attrs = blobAttrs(entry.attrs);
      refuseIncrementalCopyBlob(attrs);
      checkConditions(options.conditions, attrs, 'write');
      checkWriteLease(attrs.lease, options.leaseId, now, 'blob');
      checkSequence(options.sequence, attrs.sequenceNumber ?? 0);
      const result = await change(tx, entry);
      const sequenceNumber = result.sequenceNumber ?? attrs.sequenceNumber ?? 0;
      const next: BlobAttrs = { ...attrs, etag: this.deps.etags.next(now), lastModifiedMs: now, sequenceNumber };
      await tx.putEntry({ ...entry, sizeBytes: result.sizeBytes ?? entry.sizeBytes, attrs: toJson(next) });
      return { etag: next.etag, lastModifiedMs: now, contentMd5: result.contentMd5, sequenceNumber };
    });
  }
}

/**
 * An incremental-copy blob changes only through Incremental Copy Blob: every other write to it
 * (pages, resize, sequence number, properties, metadata, snapshots, overwrites) is refused.
 */
export function refuseIncrementalCopyBlob(attrs: BlobAttrs | undefined): void {
  if (attrs?.incrementalCopy !== undefined && attrs.snapshot === undefined) fail('OperationNotAllowedOnIncrementalCopyBlob');
}

export function pageObjectOf(entry: EntryRecord): PageObjectId {
  if (entry.pageObject === null || entry.pageObject === undefined) fail('InvalidBlobType');
  return entry.pageObject as PageObjectId;
}

/** The page source an entry reads from: its live object, or the view a snapshot/version owns. */
export function pageSourceOf(entry: EntryRecord): PageSource {
  if (entry.pageView !== null && entry.pageView !== undefined) return viewSource(entry.pageView as PageViewId);
  return objectSource(pageObjectOf(entry));
}

/** Streams page spans: data through the block store, zero runs from one shared buffer. */
export function spansStream(blocks: BlockStore, spans: readonly PageSpan[], start: number, end: number): Readable {
  const zeros = Buffer.alloc(256 * 1024);
  async function* generate(): AsyncGenerator<Buffer> {
    for (const span of spans) {
      const from = Math.max(span.start, start);
      const to = Math.min(span.end, end);
      if (from >= to) continue;
      if (span.kind === 'zeros') {
        for (let at = from; at < to; at += zeros.length) yield zeros.subarray(0, Math.min(zeros.length, to - at));
      } else {
        for await (const chunk of readStream(blocks, span.pieces, from - span.start, to - span.start)) yield chunk as Buffer;
      }
    }
  }
  return Readable.from(generate(), { objectMode: false });
}

export async function spansBuffer(blocks: BlockStore, spans: readonly PageSpan[], start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const span of spans) {
    const from = Math.max(span.start, start);
    const to = Math.min(span.end, end);
    if (from >= to) continue;
    parts.push(span.kind === 'zeros' ? Buffer.alloc(to - from) : await readBuffer(blocks, span.pieces, from - span.start, to - span.start));
  }
  return Buffer.concat(parts, end - start);
}

function checkSequence(conditions: SequenceConditions | undefined, sequence: number): void {
  if (!conditions) return;
  const { le, lt, eq } = conditions;
  if ((le !== undefined && sequence > le) || (lt !== undefined && sequence >= lt) || (eq !== undefined && sequence !== eq)) {
    fail('SequenceNumberConditionNotMet');
  }
}

async function mapPageErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof PageError)) throw error;
    if (error.code === 'older-is-newer') fail('PreviousSnapshotCannotBeNewer');
    if (error.code === 'different-lineage') fail('BlobOverwritten');
    fail('PreviousSnapshotNotFound');
  }
}

const alignDown = (n: number): number => n - (n % PAGE_BYTES);
const alignUp = (n: number): number => (n % PAGE_BYTES === 0 ? n : n + PAGE_BYTES - (n % PAGE_BYTES));

/** The window a listing covers: the requested range (or the blob), after the marker's offset. */
function clipWindow(range: ByteRange | undefined, sizeBytes: number, marker: string | undefined): ByteRange {
  const start = Math.max(range?.start ?? 0, marker ? Number.parseInt(Buffer.from(marker, 'base64url').toString(), 10) || 0 : 0);
  return { start: alignDown(start), end: Math.min(range?.end ?? sizeBytes, sizeBytes) };
}

function clip(ranges: readonly ByteRange[], window: ByteRange): ByteRange[] {
  return ranges
    .map((r) => ({ start: Math.max(r.start, window.start), end: Math.min(r.end, window.end) }))
    .filter((r) => r.start < r.end);
}

/** maxresults counts PageRange and ClearRange elements together; the marker is the next offset. */
function page(result: PageRangesResult, maxResults: number | undefined): PageRangesResult {
  if (maxResults === undefined || result.ranges.length + result.cleared.length <= maxResults) return result;
  const all = [...result.ranges.map((r) => ({ r, kind: 'w' as const })), ...result.cleared.map((r) => ({ r, kind: 'c' as const }))]
    .sort((a, b) => a.r.start - b.r.start);
  const kept = all.slice(0, maxResults);
  const next = all[maxResults];
  return {
    blob: result.blob,
    ranges: kept.filter((k) => k.kind === 'w').map((k) => k.r),
    cleared: kept.filter((k) => k.kind === 'c').map((k) => k.r),
    nextMarker: next ? Buffer.from(String(next.r.start)).toString('base64url') : undefined,
  };
}
