// PageStore: sparse, fixed-size byte spaces made of 512-byte pages, with O(1) frozen views and
// diffs that cost what changed. The blob and disk services build on it; this layer speaks
// engine terms only.
//
//   page object  a live byte space of sizeBytes (a multiple of PAGE_BYTES); a page is either
//                written (holds bytes from the block store) or not (reads as zeros)
//   view         an immutable point-in-time copy of one object, taken by freeze() in O(1)
//   lineage      an object together with every view frozen from it; diffs exist only inside one
//                lineage. branch() starts a new lineage whose content is a view (or the live object)
//
// Every method takes the caller's metadata transaction, so a service changes pages and its own
// records (entry attrs, etags, sequence numbers) atomically: bytes go to the BlockStore first
// (write, sync), then meta.write(tx => pages.write(tx, ...) + the service's own rows), then unpin.
// Ranges are [start, end) byte offsets throughout; services convert to inclusive ends on the wire.
import type { Piece } from '../blocks/block-store.js';
import type { MetaReader, MetaWriter } from '../meta/meta-store.js';

export const PAGE_BYTES = 512;

export type PageObjectId = number & { readonly __brand: 'PageObjectId' };
export type PageViewId = number & { readonly __brand: 'PageViewId' };

/** What a read, validRanges or branch looks at: the live object or one of its frozen views. */
export type PageSource = { kind: 'object'; objectId: PageObjectId } | { kind: 'view'; viewId: PageViewId };

export interface ByteRange {
  start: number;
  end: number;
}

/** A read result, in order and gap-free over the requested range. */
export type PageSpan =
  | { kind: 'data'; start: number; end: number; pieces: Piece[] }
  | { kind: 'zeros'; start: number; end: number };

export interface PageDiff {
  /** Pages written since the older view (even with identical bytes) that are valid in the newer. */
  written: ByteRange[];
  /** Pages valid in the older view that are invalid (cleared, or dropped by a shrink) in the newer. */
  cleared: ByteRange[];
}

export interface PageSourceInfo {
  lineageId: number;
  sizeBytes: number;
}

export type PageErrorCode =
  | 'not-found' // no such object or view (or the object was dropped)
  | 'invalid-range' // misaligned, empty, or beyond the object's size
  | 'different-lineage' // diff between views of different objects
  | 'older-is-newer'; // diff whose "older" view was frozen after the "newer" one

export class PageError extends Error {
  override name = 'PageError';
  constructor(
    readonly code: PageErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface PageStore {
  create(tx: MetaWriter, sizeBytes: number): Promise<PageObjectId>;
  /** Pages [start, start + length of pieces) now hold the pieces' bytes (already durable in the BlockStore). */
  write(tx: MetaWriter, objectId: PageObjectId, start: number, pieces: readonly Piece[]): Promise<void>;
  clear(tx: MetaWriter, objectId: PageObjectId, range: ByteRange): Promise<void>;
  /** Growing adds unwritten pages; shrinking drops every page at or beyond sizeBytes. */
  resize(tx: MetaWriter, objectId: PageObjectId, sizeBytes: number): Promise<void>;
  /** O(1): a view of the object as it is now. */
  freeze(tx: MetaWriter, objectId: PageObjectId): Promise<PageViewId>;
  /** A new object (new lineage) with the source's content, sharing its bytes. O(ranges). */
  branch(tx: MetaWriter, source: PageSource): Promise<PageObjectId>;
  /** Views stay readable after their object is dropped; bytes nothing references become garbage. */
  dropView(tx: MetaWriter, viewId: PageViewId): Promise<void>;
  dropObject(tx: MetaWriter, objectId: PageObjectId): Promise<void>;
  /** Drops up to `limit` objects and views that entries no longer own (MetaReader.listPageReleases). */
  releasePending(tx: MetaWriter, limit: number): Promise<number>;

  describe(tx: MetaReader, source: PageSource): Promise<PageSourceInfo>;
  read(tx: MetaReader, source: PageSource, range: ByteRange): Promise<PageSpan[]>;
  /** Coalesced written ranges, clipped to range (default: the whole object). */
  validRanges(tx: MetaReader, source: PageSource, range?: ByteRange): Promise<ByteRange[]>;
  /** What changed from older to newer (a later view of the same lineage, or its live object). */
  diff(tx: MetaReader, older: PageViewId, newer: PageSource): Promise<PageDiff>;
}

export const objectSource = (objectId: PageObjectId): PageSource => ({ kind: 'object', objectId });
export const viewSource = (viewId: PageViewId): PageSource => ({ kind: 'view', viewId });
