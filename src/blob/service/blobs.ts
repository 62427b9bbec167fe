// Block blob operations: Put Blob, Put Block, Put Block List, Get Block List, Get Blob,
// properties, metadata, delete, copies, leases.
// https://learn.microsoft.com/rest/api/storageservices/operations-on-blobs
//
// Write path (every operation that stores bytes): body → block store (durable) → one metadata
// transaction that checks conditions and leases against the state it is about to replace and
// commits the new entry → reply. Conditions are checked inside the transaction, so two racing
// writers with If-Match cannot both win. Content is shared by reference: a copy or (later) a
// snapshot points at the same content id and costs O(1) whatever the blob's size.
import type { BlockStore, Piece } from '../../engine/blocks/block-store.js';
import type { BucketRecord, EntryRecord, MetaReader, MetaStore, MetaWriter } from '../../engine/meta/meta-store.js';
import { newGuid, type EtagSource } from '../../platform/ids.js';
import { BlobError, fail } from '../errors.js';
import { checkConditions } from './conditions.js';
import { BUFFERED_READ_MAX_BYTES, contentPieces, createBlockFor, createBlockFromRange, readBuffer, readStream, storeBody } from './content.js';
import { findContainer } from './containers.js';
import { applyLeaseAction, checkReadLease, checkWriteLease } from './leases.js';
import { checkBlobName, checkMetadata } from './names.js';
import { blobAttrs, blobView, entryKind, snapshotSub, toJson, versionSub, CURRENT_SUB, type BlobAttrs, type IncrementalCopyAttrs } from './records.js';
import { readDataProtection } from './containers.js';
import { deleteCurrent, deleteEntryOrSoftly, liveSnapshots, takeSnapshot, undeleteAll, writeCurrent, type HistoryContext, type WriteKind } from './history.js';
import { normalizeTimeId, type TimeIds } from './time-ids.js';
import { changeTier, checkOnline, isArchived, settleTier, type RehydrationTimes } from './tiers.js';
import { AppendBlobs } from './append-blobs.js';
import {
  checkPageSize, createPageObject, pageObjectOf, pageSourceOf, refuseIncrementalCopyBlob, spansBuffer, spansStream, PageBlobs,
  type PageRangesResult, type PageWriteOptions,
} from './page-blobs.js';
import { PageError, viewSource, type PageDiff, type PageObjectId, type PageStore, type PageViewId } from '../../engine/pages/page-store.js';
import type {
  BlobHttpHeaders, BlobRef, BlobView, BodySource, BlockInfo, BlockListView, ByteRange, Conditions, CopyResult, CopySource, CopyState,
  GetBlobResult, LeaseAction, LeaseResult, Metadata, PutBlobRequest, PutBlockListRequest, WriteResult, BlobSelector, SnapshotResult,
  AccessTier, RehydratePriority,
} from './model.js';

const PUT_BLOB_MAX_BYTES = 5000 * 1024 * 1024;
const BLOCK_MAX_BYTES = 4000 * 1024 * 1024;
const BLOCK_ID_BYTES_MAX = 64;
const COMMITTED_BLOCKS_MAX = 50_000;

export interface BlobDeps {
  meta: MetaStore;
  blocks: BlockStore;
  pages: PageStore;
  etags: EtagSource;
  ids: TimeIds;
  rehydration: RehydrationTimes;
}

interface NewContent {
  contentId: number | null;
  sizeBytes: number;
  pageObject?: number | null;
}

export interface DeleteOptions {
  conditions: Conditions;
  leaseId?: string;
  deleteSnapshots?: 'include' | 'only';
  selector?: BlobSelector;
  permanent?: boolean;
}

/** The older side of a page diff: a snapshot time, and the blob it belongs to when given by URL. */
export interface PreviousSnapshot {
  snapshot: string;
  ref?: BlobRef;
}

export class Blobs {
  readonly pageBlobs: PageBlobs;
  readonly appendBlobs: AppendBlobs;

  constructor(private readonly deps: BlobDeps) {
    this.pageBlobs = new PageBlobs(deps);
    this.appendBlobs = new AppendBlobs(deps);
  }

  async putBlob(ref: BlobRef, request: PutBlobRequest, now: number): Promise<WriteResult> {
    checkBlobName(ref.blob);
    checkMetadata(request.metadata);
    await this.deps.meta.read((tx) => findContainer(tx, ref));
    const written = await storeBody(this.deps.blocks, request.body, PUT_BLOB_MAX_BYTES);
    try {
      const headers = { ...request.headers, contentMd5: request.headers.contentMd5 ?? written.md5 };
      return await this.deps.meta.write(async (tx) => {
        const { bucket, current } = await this.#target(tx, ref, request.conditions, request.leaseId, now);
        const blockId = written.sizeBytes > 0 ? await createBlockFor(tx, written) : undefined;
        const contentId = await tx.createContent(blockId === undefined ? [] : [{ label: syntheticBlockLabel(), blockId }]);
        const attrs = withTier(this.#newAttrs(current, headers, request.metadata, now), request.tier, now);
        const versionId = await this.#commit(tx, bucket, ref, attrs, { contentId, sizeBytes: written.sizeBytes }, now);
        return { etag: attrs.etag, lastModifiedMs: now, contentMd5: written.md5, versionId };
      });
    } finally {
      written.unpin();
    }
  }

  async putBlock(ref: BlobRef, blockId: string, body: BodySource, options: { leaseId?: string }, now: number): Promise<{ contentMd5: string }> {
    checkBlobName(ref.blob);
    checkBlockId(blockId);
    await this.deps.meta.read((tx) => findContainer(tx, ref));
    const written = await storeBody(this.deps.blocks, body, BLOCK_MAX_BYTES);
    try {
      await this.deps.meta.write(async (tx) => {
        await this.#stage(tx, ref, blockId, options.leaseId, now, () => createBlockFor(tx, written));
      });
      return { contentMd5: written.md5 };
    } finally {
      written.unpin();
    }
  }

  async putBlockFromUrl(ref: BlobRef, blockId: string, source: CopySource, options: { leaseId?: string }, now: number): Promise<{ contentMd5?: string }> {
    checkBlobName(ref.blob);
    checkBlockId(blockId);
    // The new block references the source's bytes (no copy): blocks are immutable.
    return this.deps.meta.write(async (tx) => {
      const { entry } = await this.#source(tx, source);
      checkOnline(blobAttrs(entry.attrs), now);
      const pieces = await contentPieces(tx, entry.contentId);
      const range = source.range ?? { start: 0, end: entry.sizeBytes - 1 };
      if (range.start >= entry.sizeBytes || range.end >= entry.sizeBytes || range.end < range.start) fail('InvalidRange');
      await this.#stage(tx, ref, blockId, options.leaseId, now, () => createBlockFromRange(tx, pieces, range.start, range.end));
      return {};
    });
  }

  async #stage(tx: MetaWriter, ref: BlobRef, blockId: string, leaseId: string | undefined, now: number, createBlock: () => Promise<number>): Promise<void> {
    const bucket = await findContainer(tx, ref);
    const current = await liveCurrent(tx, bucket.bucketId, ref.blob);
    if (current) checkWriteLease(blobAttrs(current.attrs).lease, leaseId, now, 'blob');
    const staged = await tx.listStaged(bucket.bucketId, ref.blob);
    const sameLength = (label: string) => Buffer.from(label, 'base64').length === Buffer.from(blockId, 'base64').length;
    if (staged.some((s) => !sameLength(s.label))) fail('InvalidBlobOrBlock');
    if (staged.length >= 100_000) fail('BlockCountExceedsLimit');
    const block = await createBlock();
    await tx.stagePart(bucket.bucketId, ref.blob, blockId, block, now);
  }

  async putBlockList(ref: BlobRef, request: PutBlockListRequest, now: number): Promise<WriteResult> {
    checkBlobName(ref.blob);
    checkMetadata(request.metadata);
    if (request.items.length > COMMITTED_BLOCKS_MAX) fail('BlockListTooLong');
    return this.deps.meta.write(async (tx) => {
      const { bucket, current } = await this.#target(tx, ref, request.conditions, request.leaseId, now);
      const committed = current?.contentId != null ? await tx.getContent(current.contentId) : [];
      const committedByLabel = new Map(committed.map((p) => [p.label, p]));
      const stagedByLabel = new Map((await tx.listStaged(bucket.bucketId, ref.blob)).map((p) => [p.label, p]));
      const parts = request.items.map((item) => {
        const fromStaged = item.kind !== 'committed' ? stagedByLabel.get(item.blockId) : undefined;
        const fromCommitted = item.kind !== 'uncommitted' ? committedByLabel.get(item.blockId) : undefined;
        const part = item.kind === 'committed' ? fromCommitted : fromStaged ?? fromCommitted;
        if (!part) fail('InvalidBlockList');
        return part;
      });
      const contentId = await tx.createContent(parts.map((p) => ({ label: p.label, blockId: p.blockId })));
      const sizeBytes = parts.reduce((sum, p) => sum + p.sizeBytes, 0);
      const attrs = withTier(this.#newAttrs(current, request.headers, request.metadata, now), request.tier, now);
      const versionId = await this.#commit(tx, bucket, ref, attrs, { contentId, sizeBytes }, now);
      return { etag: attrs.etag, lastModifiedMs: now, versionId };
    });
  }

  async getBlockList(ref: BlobRef, options: { leaseId?: string; selector?: BlobSelector }, now: number): Promise<BlockListView> {
    return this.deps.meta.read(async (tx) => {
      const bucket = await findContainer(tx, ref);
      const selected = options.selector?.snapshot ?? options.selector?.versionId;
      const current = selected ? await this.#select(tx, bucket.bucketId, ref.blob, options.selector) : await liveCurrent(tx, bucket.bucketId, ref.blob);
      const staged = selected ? [] : await tx.listStaged(bucket.bucketId, ref.blob);
      if (!current && staged.length === 0) fail('BlobNotFound');
      if (current) checkReadLease(blobAttrs(current.attrs).lease, options.leaseId, now, 'blob');
      const committed = current?.contentId != null ? await tx.getContent(current.contentId) : [];
      const info = (p: { label: string; sizeBytes: number }): BlockInfo => ({ name: p.label, sizeBytes: p.sizeBytes });
      return { blob: current ? blobView(current, now) : undefined, committed: committed.map(info), uncommitted: staged.map(info) };
    });
  }

  async getBlob(ref: BlobRef, options: { range?: ByteRange; conditions: Conditions; leaseId?: string; selector?: BlobSelector }, now: number): Promise<GetBlobResult> {
    const guard = this.deps.blocks.guardReads();
    let released = false;
    const release = () => {
      if (!released) guard.release();
      released = true;
    };
    try {
      const { entry, range, bytes } = await this.deps.meta.read(async (tx) => {
        const { entry, pieces } = await this.#readableWithPieces(tx, ref, options, now);
        checkOnline(blobAttrs(entry.attrs), now);
        const range = resolveRange(options.range, entry.sizeBytes);
        const start = range?.start ?? 0;
        const end = range ? range.end + 1 : entry.sizeBytes;
        return { entry, range, bytes: await this.#bytesOf(tx, entry, start, end, pieces) };
      });
      const small = bytes.end - bytes.start <= BUFFERED_READ_MAX_BYTES;
      const buffered = small ? await bytes.buffer() : undefined;
      if (buffered) release();
      return {
        blob: blobView(entry, now),
        range,
        buffered,
        open: () => bytes.stream().once('close', release),
        discard: release,
      };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Where bytes [start, end) of an entry come from: its block content (`known` if read already), or its pages. */
  async #bytesOf(tx: MetaReader, entry: EntryRecord, start: number, end: number, known?: Piece[]) {
    const { blocks } = this.deps;
    if (blobAttrs(entry.attrs).blobType === 'PageBlob') {
      const spans = await this.pageBlobs.readSpans(tx, pageSourceOf(entry), start, end);
      return { start, end, buffer: () => spansBuffer(blocks, spans, start, end), stream: () => spansStream(blocks, spans, start, end) };
    }
    const pieces = known ?? (await contentPieces(tx, entry.contentId));
    return { start, end, buffer: () => readBuffer(blocks, pieces, start, end), stream: () => readStream(blocks, pieces, start, end) };
  }

  async getBlobProperties(ref: BlobRef, options: { conditions: Conditions; leaseId?: string; selector?: BlobSelector }, now: number): Promise<BlobView> {
    const entry = await this.deps.meta.read((tx) => this.#readable(tx, ref, options, now));
    return blobView(entry, now);
  }

  async setBlobHttpHeaders(ref: BlobRef, options: { headers: BlobHttpHeaders; conditions: Conditions; leaseId?: string }, now: number): Promise<WriteResult> {
    return this.#update(ref, options, now, (attrs) => ({ ...attrs, headers: options.headers }));
  }

  async setBlobMetadata(ref: BlobRef, options: { metadata: Metadata; conditions: Conditions; leaseId?: string }, now: number): Promise<WriteResult> {
    checkMetadata(options.metadata);
    return this.#update(ref, options, now, (attrs) => {
      checkOnline(attrs, now);
      return { ...attrs, metadata: options.metadata };
    }, 'metadata');
  }

  async deleteBlob(ref: BlobRef, options: DeleteOptions, now: number): Promise<void> {
    await this.deps.meta.write(async (tx) => {
      const bucket = await findContainer(tx, ref);
      const ctx = await this.#history(tx, bucket, ref, now);
      if (options.selector?.snapshot !== undefined || options.selector?.versionId !== undefined) {
        return this.#deleteSelected(ctx, options);
      }
      const { current, attrs } = await existingBlob(tx, bucket, ref, options.conditions);
      checkWriteLease(attrs.lease, options.leaseId, now, 'blob');
      const snapshots = await liveSnapshots(ctx);
      if (snapshots.length > 0 && options.deleteSnapshots === undefined) fail('SnapshotsPresent');
      for (const snapshot of snapshots) await deleteEntryOrSoftly(ctx, snapshot);
      if (options.deleteSnapshots !== 'only') await deleteCurrent(ctx, current);
    });
  }

  /** Delete Blob with ?snapshot= or ?versionid= (optionally deletetype=permanent). */
  async #deleteSelected(ctx: HistoryContext, options: DeleteOptions): Promise<void> {
    if (options.deleteSnapshots !== undefined) fail('InvalidHeaderValue', { HeaderName: 'x-ms-delete-snapshots' });
    const { tx, bucket, name } = ctx;
    const versionId = options.selector?.versionId;
    if (versionId !== undefined && options.selector?.snapshot === undefined) {
      const current = await liveCurrent(tx, bucket.bucketId, name);
      if (current && blobAttrs(current.attrs).versionId === normalizeTimeId(versionId)) fail('OperationNotAllowedOnRootBlob');
    }
    const entry = await this.#findSelected(tx, bucket.bucketId, name, options.selector, options.permanent === true);
    if (!entry) fail('BlobNotFound');
    checkConditions(options.conditions, blobAttrs(entry.attrs), 'write');
    if (!options.permanent) return deleteEntryOrSoftly(ctx, entry);
    if (!ctx.protection.deleteRetention.allowPermanentDelete) fail('InvalidOperation', { reason: 'permanent delete is not enabled for this account' });
    if (!blobAttrs(entry.attrs).deleted) fail('InvalidOperation', { reason: 'only soft-deleted snapshots and versions can be deleted permanently' });
    await tx.deleteEntry(entry.bucketId, entry.name, entry.sub);
  }

  async undeleteBlob(ref: BlobRef, now: number): Promise<void> {
    await this.deps.meta.write(async (tx) => {
      const bucket = await findContainer(tx, ref);
      if (!(await undeleteAll(await this.#history(tx, bucket, ref, now)))) fail('BlobNotFound');
    });
  }

  async snapshotBlob(ref: BlobRef, options: { metadata?: Metadata; conditions: Conditions; leaseId?: string }, now: number): Promise<SnapshotResult> {
    if (options.metadata) checkMetadata(options.metadata);
    return this.deps.meta.write(async (tx) => {
      const bucket = await findContainer(tx, ref);
      const { current, attrs } = await existingBlob(tx, bucket, ref, options.conditions);
      refuseIncrementalCopyBlob(attrs);
      checkReadLease(attrs.lease, options.leaseId, now, 'blob');
      checkOnline(attrs, now);
      const { snapshot, versionId } = await takeSnapshot(await this.#history(tx, bucket, ref, now), current, options.metadata);
      return { snapshot, versionId, etag: attrs.etag, lastModifiedMs: attrs.lastModifiedMs };
    });
  }

  /**
   * Copy Blob. Inside one Nimbus a copy completes before the reply, except from an archived source:
   * then the destination is created rehydrating (tier Archive, archive status pending) and its copy
   * status stays `pending` until the rehydration time has passed on the clock (Azure's behaviour).
   */
  async copyBlob(
    ref: BlobRef, source: CopySource,
    options: { metadata?: Metadata; conditions: Conditions; leaseId?: string; tier?: AccessTier; rehydratePriority?: RehydratePriority; sync?: boolean },
    now: number,
  ): Promise<CopyResult> {
    checkBlobName(ref.blob);
    if (options.metadata) checkMetadata(options.metadata);
    const copyId = newGuid();
    return this.deps.meta.write(async (tx) => {
      const { entry: sourceEntry } = await this.#source(tx, source);
      const { bucket, current } = await this.#target(tx, ref, options.conditions, options.leaseId, now);
      const sourceAttrs = blobAttrs(sourceEntry.attrs);
      const fromArchive = isArchived(sourceAttrs, now);
      if (fromArchive && (options.sync || options.tier === 'Archive')) fail('BlobArchived');
      const size = sourceEntry.sizeBytes;
      const base: BlobAttrs = {
        ...this.#newAttrs(current, sourceAttrs.headers, options.metadata ?? sourceAttrs.metadata, now),
        blobType: sourceAttrs.blobType,
        copy: { copyId, source: source.url, status: 'success', progress: `${size}/${size}`, completionMs: now },
      };
      const attrs = fromArchive ? rehydratingCopy(base, options.tier ?? 'Hot', options.rehydratePriority ?? 'Standard', now, this.deps.rehydration) : withTier(base, options.tier, now);
      const content = { contentId: sourceEntry.contentId, sizeBytes: size, pageObject: await this.#copyPages(tx, sourceEntry) };
      const versionId = await this.#commit(tx, bucket, ref, attrs, content, now);
      const copyStatus = fromArchive ? 'pending' : 'success';
      return { etag: attrs.etag, lastModifiedMs: now, copyId, copyStatus, contentMd5: sourceAttrs.headers.contentMd5, versionId };
    });
  }

  /** Set Blob Tier on the current blob, a snapshot or a version. Changes neither ETag nor Last-Modified. */
  /** A copy of a page blob owns a branch of the source's pages (bytes shared, new lineage). */
  async #copyPages(tx: MetaWriter, source: EntryRecord): Promise<number | null> {
    if (blobAttrs(source.attrs).blobType !== 'PageBlob') return null;
    return this.deps.pages.branch(tx, pageSourceOf(source));
  }

  /**
   * Incremental Copy Blob: brings the destination, an incremental-copy page blob, to the content of
   * a snapshot of a page blob, then snapshots the destination. The first copy branches the whole
   * snapshot; each later one applies only the page diff between the source snapshot copied last
   * and this one (written pages are shared with the source by reference, never re-read). Like every
   * copy inside one Nimbus it completes before the reply. The destination mirrors the snapshot's
   * properties, metadata and sequence number; its creation time and lease carry over.
   */
  async incrementalCopy(
    ref: BlobRef, source: CopySource, options: { conditions: Conditions; leaseId?: string }, now: number,
  ): Promise<CopyResult & { destinationSnapshot: string }> {
    checkBlobName(ref.blob);
    if (source.selector?.snapshot === undefined || source.selector.versionId !== undefined) fail('IncrementalCopySourceMustBeSnapshot');
    const copyId = newGuid();
    return this.deps.meta.write(async (tx) => {
      const { entry: sourceEntry } = await this.#source(tx, source);
      const sourceAttrs = blobAttrs(sourceEntry.attrs);
      const sourceView = (sourceEntry.pageView ?? null) as PageViewId | null;
      if (sourceAttrs.blobType !== 'PageBlob' || sourceView === null || sourceAttrs.snapshot === undefined) fail('InvalidBlobType');
      const { bucket, current } = await this.#target(tx, ref, options.conditions, options.leaseId, now, true);
      const previous = current ? blobAttrs(current.attrs).incrementalCopy : undefined;
      // Only a blob created by an earlier incremental copy (of the same source blob) can be the destination.
      if (current && !previous) fail('InvalidBlobType');
      if (previous && !sameBlob(previous.sourceRef, source.ref)) fail('IncrementalCopyBlobMismatch');
      if (previous && sourceAttrs.snapshot < previous.lastSnapshot) fail('IncrementalCopyOfEarlierSnapshotNotAllowed');

      const size = sourceEntry.sizeBytes;
      const { account, container, blob } = source.ref;
      const incremental: IncrementalCopyAttrs = {
        sourceBlob: source.url.split('?')[0] ?? source.url, sourceRef: { account, container, blob }, lastSnapshot: sourceAttrs.snapshot,
      };
      const copy: CopyState = { copyId, source: source.url, status: 'success', progress: `${size}/${size}`, completionMs: now };
      const attrs: BlobAttrs = {
        ...this.#newAttrs(current, sourceAttrs.headers, sourceAttrs.metadata, now),
        blobType: 'PageBlob', sequenceNumber: sourceAttrs.sequenceNumber ?? 0, copy, incrementalCopy: incremental,
      };
      if (current && previous) {
        await this.#transferChanges(tx, pageObjectOf(current), previous, sourceView, size);
        await tx.putEntry({ ...current, sizeBytes: size, attrs: toJson({ ...attrs, versionId: blobAttrs(current.attrs).versionId }) });
      } else {
        const pageObject = await this.deps.pages.branch(tx, viewSource(sourceView));
        await this.#commit(tx, bucket, ref, attrs, { contentId: null, sizeBytes: size, pageObject }, now);
      }
      // The destination snapshot; the current blob then names it (x-ms-copy-destination-snapshot).
      const written = await liveCurrent(tx, bucket.bucketId, ref.blob);
      if (!written) fail('BlobNotFound');
      const { snapshot: destinationSnapshot } = await takeSnapshot(await this.#history(tx, bucket, ref, now), written, undefined);
      const latest = (await liveCurrent(tx, bucket.bucketId, ref.blob)) ?? written;
      const latestAttrs = blobAttrs(latest.attrs);
      await tx.putEntry({ ...latest, attrs: toJson({ ...latestAttrs, incrementalCopy: { ...incremental, destinationSnapshot } }) });
      return { etag: attrs.etag, lastModifiedMs: now, copyId, copyStatus: 'success', versionId: latestAttrs.versionId, destinationSnapshot };
    });
  }

  /** Applies to the destination's pages what changed in the source since the snapshot copied last. */
  async #transferChanges(tx: MetaWriter, objectId: PageObjectId, previous: IncrementalCopyAttrs, to: PageViewId, sizeBytes: number): Promise<void> {
    const { pages } = this.deps;
    const changes = await this.#changesSince(tx, previous, to, sizeBytes);
    await pages.resize(tx, objectId, sizeBytes);
    for (const range of changes.cleared) {
      const clipped = { start: range.start, end: Math.min(range.end, sizeBytes) };
      if (clipped.start < clipped.end) await pages.clear(tx, objectId, clipped);
    }
    for (const range of changes.written) {
      for (const span of await pages.read(tx, viewSource(to), range)) {
        if (span.kind === 'data') await pages.write(tx, objectId, span.start, span.pieces);
        else await pages.clear(tx, objectId, span);
      }
    }
  }

  /**
   * The source's page diff from the snapshot copied last to `to`. When that snapshot is gone (deleted,
   * or the source blob was recreated since), everything: clear the destination, then every valid page.
   */
  async #changesSince(tx: MetaReader, previous: IncrementalCopyAttrs, to: PageViewId, sizeBytes: number): Promise<PageDiff> {
    const { account, container, blob } = previous.sourceRef;
    const bucket = await tx.getBucket(account, container);
    const older = bucket ? await this.#select(tx, bucket.bucketId, blob, { snapshot: previous.lastSnapshot }) : undefined;
    if (older?.pageView !== null && older?.pageView !== undefined) {
      try {
        return await this.deps.pages.diff(tx, older.pageView as PageViewId, viewSource(to));
      } catch (error) {
        if (!(error instanceof PageError)) throw error;
      }
    }
    return { written: await this.deps.pages.validRanges(tx, viewSource(to)), cleared: [{ start: 0, end: sizeBytes }] };
  }

  /** Put Blob with x-ms-blob-type: AppendBlob: an empty append blob. */
  async createAppendBlob(
    ref: BlobRef, request: { headers: BlobHttpHeaders; metadata: Metadata; conditions: Conditions; leaseId?: string }, now: number,
  ): Promise<WriteResult> {
    checkBlobName(ref.blob);
    checkMetadata(request.metadata);
    return this.deps.meta.write(async (tx) => {
      const { bucket, current } = await this.#target(tx, ref, request.conditions, request.leaseId, now);
      const contentId = await tx.createContent([]);
      const attrs: BlobAttrs = { ...this.#newAttrs(current, request.headers, request.metadata, now), blobType: 'AppendBlob', committedBlockCount: 0 };
      const versionId = await this.#commit(tx, bucket, ref, attrs, { contentId, sizeBytes: 0 }, now);
      return { etag: attrs.etag, lastModifiedMs: now, versionId };
    });
  }

  /** Put Blob with x-ms-blob-type: PageBlob: an all-empty page blob of the declared size. */
  async createPageBlob(
    ref: BlobRef,
    request: { sizeBytes: number; sequenceNumber?: number; headers: BlobHttpHeaders; metadata: Metadata; conditions: Conditions; leaseId?: string },
    now: number,
  ): Promise<WriteResult> {
    checkBlobName(ref.blob);
    checkMetadata(request.metadata);
    checkPageSize(request.sizeBytes);
    return this.deps.meta.write(async (tx) => {
      const { bucket, current } = await this.#target(tx, ref, request.conditions, request.leaseId, now);
      const pageObject = await createPageObject(tx, this.deps.pages, request.sizeBytes);
      const attrs: BlobAttrs = { ...this.#newAttrs(current, request.headers, request.metadata, now), blobType: 'PageBlob', sequenceNumber: request.sequenceNumber ?? 0 };
      const versionId = await this.#commit(tx, bucket, ref, attrs, { contentId: null, sizeBytes: request.sizeBytes, pageObject }, now);
      return { etag: attrs.etag, lastModifiedMs: now, versionId };
    });
  }

  /** Get Page Ranges of the current blob, a snapshot or a version; optionally a diff from an older snapshot. */
  async getPageRanges(
    ref: BlobRef,
    options: { selector?: BlobSelector; range?: { start: number; end: number }; previous?: PreviousSnapshot; marker?: string; maxResults?: number; conditions: Conditions },
    now: number,
  ): Promise<PageRangesResult> {
    return this.deps.meta.read(async (tx) => {
      const entry = await this.#readable(tx, ref, { conditions: options.conditions, selector: options.selector }, now);
      if (blobAttrs(entry.attrs).blobType !== 'PageBlob') fail('InvalidBlobType');
      const previous = options.previous ? await this.#previousView(tx, ref, entry, options.previous) : undefined;
      const query = { range: options.range, previous, marker: options.marker, maxResults: options.maxResults };
      try {
        return await this.pageBlobs.getPageRanges(tx, pageSourceOf(entry), entry, query);
      } catch (error) {
        // A snapshot URL of another snapshot family is simply not a previous snapshot of this one.
        if (options.previous?.ref && error instanceof BlobError && error.code === 'BlobOverwritten') fail('PreviousSnapshotNotFound');
        throw error;
      }
    });
  }

  /**
   * The older snapshot of a diff: `prevsnapshot` names a snapshot of the same blob;
   * `x-ms-previous-snapshot-url` may name one of another blob, which must share the lineage.
   */
  async #previousView(tx: MetaReader, ref: BlobRef, target: EntryRecord, previous: PreviousSnapshot): Promise<PageViewId> {
    const blobRef = previous.ref ?? ref;
    const bucket = await tx.getBucket(blobRef.account, blobRef.container);
    const entry = bucket ? await this.#select(tx, bucket.bucketId, blobRef.blob, { snapshot: previous.snapshot }) : undefined;
    if (!entry || entry.pageView === null || entry.pageView === undefined) fail('PreviousSnapshotNotFound');
    const targetSnapshot = blobAttrs(target.attrs).snapshot;
    if (targetSnapshot !== undefined && (blobAttrs(entry.attrs).snapshot ?? '') > targetSnapshot) fail('PreviousSnapshotCannotBeNewer');
    return entry.pageView as PageViewId;
  }

  /** Put Page From URL: the source range's bytes (≤ 4 MiB), read at once, written to the target range. */
  async putPagesFromUrl(ref: BlobRef, range: { start: number; end: number }, source: CopySource, options: PageWriteOptions, now: number) {
    const guard = this.deps.blocks.guardReads();
    try {
      const bytes = await this.deps.meta.read(async (tx) => {
        const bucket = await tx.getBucket(source.ref.account, source.ref.container);
        const entry = bucket ? await this.#select(tx, bucket.bucketId, source.ref.blob, source.selector) : undefined;
        if (!entry) fail('CannotVerifyCopySource', { reason: 'The specified blob does not exist.' });
        checkOnline(blobAttrs(entry.attrs), now);
        const from = source.range ?? { start: 0, end: entry.sizeBytes - 1 };
        if (from.end - from.start + 1 !== range.end - range.start || from.end >= entry.sizeBytes) fail('InvalidHeaderValue', { HeaderName: 'x-ms-source-range' });
        return (await this.#bytesOf(tx, entry, from.start, from.end + 1)).buffer();
      });
      return await this.pageBlobs.putPagesFromBytes(ref, range, bytes, options, now);
    } finally {
      guard.release();
    }
  }

  async setBlobTier(
    ref: BlobRef, options: { tier: AccessTier; priority: RehydratePriority; selector?: BlobSelector; leaseId?: string }, now: number,
  ): Promise<{ accepted: boolean }> {
    return this.deps.meta.write(async (tx) => {
      const bucket = await findContainer(tx, ref);
      const entry = await this.#select(tx, bucket.bucketId, ref.blob, options.selector);
      if (!entry) fail('BlobNotFound');
      const attrs = blobAttrs(entry.attrs);
      const kind = entryKind(entry);
      if (kind === 'current') checkReadLease(attrs.lease, options.leaseId, now, 'blob');
      const change = changeTier(attrs, options.tier, options.priority, now, this.deps.rehydration, kind === 'current');
      await tx.putEntry({ ...entry, attrs: toJson(change.attrs) });
      return { accepted: change.accepted };
    });
  }

  async putBlobFromUrl(
    ref: BlobRef,
    source: CopySource,
    options: { headers?: BlobHttpHeaders; metadata: Metadata; conditions: Conditions; leaseId?: string; copySourceProperties: boolean },
    now: number,
  ): Promise<WriteResult> {
    checkBlobName(ref.blob);
    checkMetadata(options.metadata);
    return this.deps.meta.write(async (tx) => {
      const { entry: sourceEntry } = await this.#source(tx, source);
      if (blobAttrs(sourceEntry.attrs).blobType !== 'BlockBlob') fail('InvalidBlobType');
      checkOnline(blobAttrs(sourceEntry.attrs), now);
      const { bucket, current } = await this.#target(tx, ref, options.conditions, options.leaseId, now);
      const sourceHeaders = blobAttrs(sourceEntry.attrs).headers;
      const headers = options.copySourceProperties ? { ...sourceHeaders, ...definedOnly(options.headers ?? {}) } : options.headers ?? {};
      const attrs = this.#newAttrs(current, headers, options.metadata, now);
      const versionId = await this.#commit(tx, bucket, ref, attrs, { contentId: sourceEntry.contentId, sizeBytes: sourceEntry.sizeBytes }, now);
      return { etag: attrs.etag, lastModifiedMs: now, contentMd5: sourceHeaders.contentMd5, versionId };
    });
  }

  async abortCopy(ref: BlobRef, copyId: string, options: { leaseId?: string }, now: number): Promise<void> {
    const entry = await this.deps.meta.read((tx) => this.#readable(tx, ref, { conditions: {} }, now));
    const copy = blobAttrs(entry.attrs).copy;
    checkWriteLease(blobAttrs(entry.attrs).lease, options.leaseId, now, 'blob');
    if (copy && copy.copyId !== copyId) fail('CopyIdMismatch');
    // Copies inside one Nimbus complete before Copy Blob replies, so none is ever pending.
    fail('NoPendingCopyOperation');
  }

  async leaseBlob(ref: BlobRef, action: LeaseAction, conditions: Conditions, now: number): Promise<LeaseResult> {
    return this.deps.meta.write(async (tx) => {
      const bucket = await findContainer(tx, ref);
      const { current, attrs } = await existingBlob(tx, bucket, ref, conditions);
      const result = applyLeaseAction(attrs.lease, action, now);
      await tx.putEntry({ ...current, attrs: toJson({ ...attrs, lease: result.lease }) });
      return { etag: attrs.etag, lastModifiedMs: attrs.lastModifiedMs, leaseId: result.leaseId, leaseTimeSec: result.leaseTimeSec };
    });
  }

  /**
   * The container and live current blob a write targets, with conditions and lease checked. Only
   * Incremental Copy Blob (`incrementalCopy`) may target an incremental-copy blob.
   */
  async #target(tx: MetaWriter, ref: BlobRef, conditions: Conditions, leaseId: string | undefined, now: number, incrementalCopy = false) {
    const bucket = await findContainer(tx, ref);
    const current = await liveCurrent(tx, bucket.bucketId, ref.blob);
    const attrs = current ? blobAttrs(current.attrs) : undefined;
    if (!incrementalCopy) refuseIncrementalCopyBlob(attrs);
    checkConditions(conditions, attrs, 'write');
    if (attrs) checkWriteLease(attrs.lease, leaseId, now, 'blob');
    else if (leaseId !== undefined) fail('LeaseNotPresentWithBlobOperation');
    return { bucket, current };
  }

  async #readable(tx: MetaReader, ref: BlobRef, options: { conditions: Conditions; leaseId?: string; selector?: BlobSelector }, now: number): Promise<EntryRecord> {
    const bucket = await findContainer(tx, ref);
    const entry = await this.#select(tx, bucket.bucketId, ref.blob, options.selector);
    if (!entry) fail('BlobNotFound');
    this.#checkReadable(entry, options, now);
    return entry;
  }

  #checkReadable(entry: EntryRecord, options: { conditions: Conditions; leaseId?: string }, now: number): void {
    const attrs = blobAttrs(entry.attrs);
    checkConditions(options.conditions, attrs, 'read');
    if (entryKind(entry) === 'current') checkReadLease(attrs.lease, options.leaseId, now, 'blob');
  }

  /**
   * #readable for Get Blob: the current blob (no selector) comes with its content pieces in one
   * metadata lookup; a snapshot or version is read as #readable reads it.
   */
  async #readableWithPieces(tx: MetaReader, ref: BlobRef, options: { conditions: Conditions; leaseId?: string; selector?: BlobSelector }, now: number): Promise<{ entry: EntryRecord; pieces?: Piece[] }> {
    if (options.selector !== undefined) return { entry: await this.#readable(tx, ref, options, now) };
    const bucket = await findContainer(tx, ref);
    const found = await tx.getEntryWithPieces(bucket.bucketId, ref.blob, CURRENT_SUB);
    if (!found || entryKind(found.entry) !== 'current') fail('BlobNotFound');
    this.#checkReadable(found.entry, options, now);
    return found;
  }

  /** The live entry a selector names: a snapshot, a version (the current one included), or the current blob. */
  async #select(tx: MetaReader, bucketId: number, name: string, selector: BlobSelector | undefined): Promise<EntryRecord | undefined> {
    return this.#findSelected(tx, bucketId, name, selector, false);
  }

  async #findSelected(tx: MetaReader, bucketId: number, name: string, selector: BlobSelector | undefined, includeDeleted: boolean): Promise<EntryRecord | undefined> {
    const visible = (e: EntryRecord | undefined) => (e && (includeDeleted || !blobAttrs(e.attrs).deleted) ? e : undefined);
    if (selector?.snapshot !== undefined) {
      const id = normalizeTimeId(selector.snapshot);
      if (id === undefined) fail('InvalidQueryParameterValue', { QueryParameterName: 'snapshot', QueryParameterValue: selector.snapshot });
      return visible(await tx.getEntry(bucketId, name, snapshotSub(id)));
    }
    if (selector?.versionId !== undefined) {
      const id = normalizeTimeId(selector.versionId);
      if (id === undefined) fail('InvalidQueryParameterValue', { QueryParameterName: 'versionid', QueryParameterValue: selector.versionId });
      const current = await liveCurrent(tx, bucketId, name);
      if (current && blobAttrs(current.attrs).versionId === id) return current;
      return visible(await tx.getEntry(bucketId, name, versionSub(id)));
    }
    return liveCurrent(tx, bucketId, name);
  }

  async #source(tx: MetaWriter, source: CopySource): Promise<{ entry: EntryRecord }> {
    const bucket = await tx.getBucket(source.ref.account, source.ref.container);
    const entry = bucket ? await this.#select(tx, bucket.bucketId, source.ref.blob, source.selector) : undefined;
    if (!entry) fail('CannotVerifyCopySource', { reason: 'The specified blob does not exist.' });
    checkConditions(source.conditions, blobAttrs(entry.attrs), 'write', 'SourceConditionNotMet');
    return { entry };
  }

  async #history(tx: MetaWriter, bucket: BucketRecord, ref: BlobRef, now: number): Promise<HistoryContext> {
    const protection = await readDataProtection(tx, ref.account);
    return { tx, bucket, name: ref.blob, protection, ids: this.deps.ids, now, pages: this.deps.pages };
  }

  /** Replaces the current blob under the versioning and soft-delete rules; drops staged blocks. */
  async #commit(tx: MetaWriter, bucket: BucketRecord, ref: BlobRef, attrs: BlobAttrs, content: NewContent, now: number, kind: WriteKind = 'overwrite'): Promise<string | undefined> {
    const versionId = await writeCurrent(await this.#history(tx, bucket, ref, now), { attrs, ...content }, kind);
    if (kind === 'overwrite') await tx.clearStaged(bucket.bucketId, ref.blob);
    return versionId;
  }

  /** Attributes of a blob being (re)written: a new ETag; the lease and creation time carry over. */
  #newAttrs(current: EntryRecord | undefined, headers: BlobHttpHeaders, metadata: Metadata, now: number): BlobAttrs {
    const previous = current ? blobAttrs(current.attrs) : undefined;
    return {
      blobType: 'BlockBlob',
      etag: this.deps.etags.next(now),
      lastModifiedMs: now,
      createdMs: previous?.createdMs ?? now,
      headers,
      metadata,
      lease: previous?.lease ?? { state: 'available' },
      copy: null,
    };
  }

  async #update(
    ref: BlobRef,
    options: { conditions: Conditions; leaseId?: string },
    now: number,
    change: (attrs: BlobAttrs) => BlobAttrs,
    kind?: WriteKind,
  ): Promise<WriteResult> {
    return this.deps.meta.write(async (tx) => {
      const bucket = await findContainer(tx, ref);
      const { current, attrs } = await existingBlob(tx, bucket, ref, options.conditions);
      refuseIncrementalCopyBlob(attrs);
      checkWriteLease(attrs.lease, options.leaseId, now, 'blob');
      const next = { ...settleTier(change(attrs), now), etag: this.deps.etags.next(now), lastModifiedMs: now };
      if (kind === undefined) {
        await tx.putEntry({ ...current, attrs: toJson(next) });
        return { etag: next.etag, lastModifiedMs: now, versionId: next.versionId };
      }
      const content = { contentId: current.contentId, sizeBytes: current.sizeBytes, pageObject: current.pageObject };
      const versionId = await this.#commit(tx, bucket, ref, next, content, now, kind);
      return { etag: next.etag, lastModifiedMs: now, versionId };
    });
  }
}

/** The live current blob a change addresses, with the write conditions checked against it. */
async function existingBlob(tx: MetaReader, bucket: BucketRecord, ref: BlobRef, conditions: Conditions): Promise<{ current: EntryRecord; attrs: BlobAttrs }> {
  const current = await liveCurrent(tx, bucket.bucketId, ref.blob);
  if (!current) fail('BlobNotFound');
  const attrs = blobAttrs(current.attrs);
  checkConditions(conditions, attrs, 'write');
  return { current, attrs };
}

/** The current blob of a name, unless it is soft-deleted. */
async function liveCurrent(tx: MetaReader, bucketId: number, name: string): Promise<EntryRecord | undefined> {
  const entry = await tx.getEntry(bucketId, name, CURRENT_SUB);
  return entry && entryKind(entry) === 'current' ? entry : undefined;
}

function sameBlob(a: BlobRef, b: BlobRef): boolean {
  return a.account === b.account && a.container === b.container && a.blob === b.blob;
}

/** An explicit tier given at write time (x-ms-access-tier). */
function withTier(attrs: BlobAttrs, tier: AccessTier | undefined, now: number): BlobAttrs {
  return tier === undefined ? attrs : { ...attrs, tier, tierChangedMs: now };
}

function rehydratingCopy(attrs: BlobAttrs, to: AccessTier, priority: RehydratePriority, now: number, times: RehydrationTimes): BlobAttrs {
  const completesMs = now + (priority === 'High' ? times.highMs : times.standardMs);
  const copy = attrs.copy ? { ...attrs.copy, status: 'pending' as const, completionMs: null, progress: `0/${attrs.copy.progress.split('/')[1] ?? '0'}` } : null;
  return { ...attrs, tier: 'Archive', tierChangedMs: now, rehydrate: { to, priority, completesMs }, copy };
}

function checkBlockId(blockId: string): void {
  const valid = /^[A-Za-z0-9+/]*={0,2}$/.test(blockId) && blockId.length % 4 === 0 && blockId.length > 0;
  if (!valid || Buffer.from(blockId, 'base64').length > BLOCK_ID_BYTES_MAX) fail('InvalidBlockId');
}

/** Put Blob stores its body as one committed block with an id the client never chose. */
function syntheticBlockLabel(): string {
  return Buffer.from(newGuid().replace(/-/g, ''), 'hex').toString('base64');
}

function resolveRange(range: ByteRange | undefined, sizeBytes: number): { start: number; end: number } | undefined {
  if (!range) return undefined;
  if (range.start >= sizeBytes) fail('InvalidRange', { size: String(sizeBytes) });
  const end = Math.min(range.end ?? sizeBytes - 1, sizeBytes - 1);
  if (end < range.start) fail('InvalidRange', { size: String(sizeBytes) });
  return { start: range.start, end };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type { BlobView };
