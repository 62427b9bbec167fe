// Append blobs: https://learn.microsoft.com/rest/api/storageservices/append-block (spec/blob-rest.md §18).
// An append blob is a block content that grows: Append Block adds one block at the end. The
// content is appended in place while only the blob itself references it; once a snapshot or
// version shares it, the next append copies the part list first (copy-on-write), so snapshots
// and versions never change. Append Block and Seal never create versions.
import type { EntryRecord, MetaWriter } from '../../engine/meta/meta-store.js';
import { fail } from '../errors.js';
import { checkConditions } from './conditions.js';
import { createBlockFor, storeBody } from './content.js';
import { findContainer } from './containers.js';
import { checkWriteLease } from './leases.js';
import { blobAttrs, entryKind, toJson, CURRENT_SUB, type BlobAttrs } from './records.js';
import type { BlobRef, BodySource, Conditions, WriteResult } from './model.js';
import type { BlobDeps } from './blobs.js';

const APPEND_BLOCK_BYTES_MAX = 100 * 1024 * 1024;
const APPEND_BLOCKS_MAX = 50_000;

export interface AppendConditions {
  /** x-ms-blob-condition-maxsize: the blob may not grow past this. */
  maxSizeBytes?: number;
  /** x-ms-blob-condition-appendpos: the append must land at this offset. */
  appendPosition?: number;
}

export interface AppendResult extends WriteResult {
  appendOffset: number;
  committedBlockCount: number;
}

export class AppendBlobs {
  constructor(private readonly deps: BlobDeps) {}

  async appendBlock(
    ref: BlobRef, body: BodySource, options: { conditions: Conditions; leaseId?: string; append: AppendConditions }, now: number,
  ): Promise<AppendResult> {
    const stored = await storeBody(this.deps.blocks, body, APPEND_BLOCK_BYTES_MAX);
    try {
      return await this.deps.meta.write(async (tx) => {
        const entry = await this.#current(tx, ref);
        const attrs = blobAttrs(entry.attrs);
        checkConditions(options.conditions, attrs, 'write');
        checkWriteLease(attrs.lease, options.leaseId, now, 'blob');
        if (attrs.sealed) fail('BlobIsSealed');
        checkAppend(options.append, entry.sizeBytes, stored.sizeBytes);
        const count = attrs.committedBlockCount ?? 0;
        if (count >= APPEND_BLOCKS_MAX) fail('BlockCountExceedsLimit');
        const blockId = await createBlockFor(tx, stored);
        const contentId = await appendPart(tx, entry, { label: appendLabel(count), blockId });
        const next: BlobAttrs = { ...attrs, etag: this.deps.etags.next(now), lastModifiedMs: now, committedBlockCount: count + 1 };
        await tx.putEntry({ ...entry, contentId, sizeBytes: entry.sizeBytes + stored.sizeBytes, attrs: toJson(next) });
        return { etag: next.etag, lastModifiedMs: now, contentMd5: stored.md5, appendOffset: entry.sizeBytes, committedBlockCount: count + 1 };
      });
    } finally {
      stored.unpin();
    }
  }

  async seal(ref: BlobRef, options: { conditions: Conditions; leaseId?: string; append: AppendConditions }, now: number): Promise<WriteResult> {
    return this.deps.meta.write(async (tx) => {
      const entry = await this.#current(tx, ref);
      const attrs = blobAttrs(entry.attrs);
      checkConditions(options.conditions, attrs, 'write');
      checkWriteLease(attrs.lease, options.leaseId, now, 'blob');
      if (options.append.appendPosition !== undefined && options.append.appendPosition !== entry.sizeBytes) fail('AppendPositionConditionNotMet');
      const next: BlobAttrs = { ...attrs, etag: this.deps.etags.next(now), lastModifiedMs: now, sealed: true };
      await tx.putEntry({ ...entry, attrs: toJson(next) });
      return { etag: next.etag, lastModifiedMs: now };
    });
  }

  async #current(tx: MetaWriter, ref: BlobRef): Promise<EntryRecord> {
    const bucket = await findContainer(tx, ref);
    const entry = await tx.getEntry(bucket.bucketId, ref.blob, CURRENT_SUB);
    if (!entry || entryKind(entry) !== 'current') fail('BlobNotFound');
    if (blobAttrs(entry.attrs).blobType !== 'AppendBlob') fail('InvalidBlobType');
    return entry;
  }
}

/** Appends in place when the blob alone owns its content; otherwise copies the part list first. */
async function appendPart(tx: MetaWriter, entry: EntryRecord, part: { label: string; blockId: number }): Promise<number> {
  if (entry.contentId !== null && (await tx.appendToContent(entry.contentId, part))) return entry.contentId;
  const parts = entry.contentId === null ? [] : await tx.getContent(entry.contentId);
  return tx.createContent([...parts.map((p) => ({ label: p.label, blockId: p.blockId })), part]);
}

function checkAppend(conditions: AppendConditions, sizeBytes: number, appendBytes: number): void {
  if (conditions.appendPosition !== undefined && conditions.appendPosition !== sizeBytes) fail('AppendPositionConditionNotMet');
  if (conditions.maxSizeBytes !== undefined && sizeBytes + appendBytes > conditions.maxSizeBytes) fail('MaxBlobSizeConditionNotMet');
}

/** Append blocks get sequential ids (Azure does not expose them; Get Block List is not valid on append blobs). */
function appendLabel(index: number): string {
  return Buffer.from(index.toString(16).padStart(8, '0')).toString('base64');
}
