// Blob bytes: request bodies into blocks, and contents (ordered pieces) back into bytes.
// Shared by Put Blob, Put Block, Get Blob and the copy operations.
//
// Bodies up to INLINE_MAX_BYTES are kept inline in the metadata store: a small PUT is one
// transaction and one (group-committed) fsync, and a small GET one query, with no extent I/O.
// Larger bodies stream into the block store and are fsynced before their metadata commits.
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { isInline, slicePieces, type BlockStore, type ChunkRef, type ContentStream, type Piece, type WrittenData } from '../../engine/blocks/block-store.js';
import { LengthMismatchError } from '../../engine/blocks/extent-block-store.js';
import type { MetaReader, MetaWriter } from '../../engine/meta/meta-store.js';
import { BlobError, fail } from '../errors.js';
import type { BodySource } from './model.js';

export const INLINE_MAX_BYTES = 64 * 1024;
/** Reads up to this size are served from one buffer instead of a stream. */
export const BUFFERED_READ_MAX_BYTES = 64 * 1024;

export type StoredBody =
  | { kind: 'inline'; data: Buffer; sizeBytes: number; md5: string; unpin(): void }
  | ({ kind: 'chunks' } & WrittenData);

export async function contentPieces(tx: MetaReader, contentId: number | null): Promise<Piece[]> {
  return contentId === null ? [] : tx.getContentPieces(contentId);
}

/** Creates the block holding a stored body, inside the metadata transaction. */
export function createBlockFor(tx: MetaWriter, body: StoredBody): Promise<number> {
  return tx.createBlock(body.kind === 'inline' ? [{ inline: body.data, length: body.sizeBytes }] : body.chunks);
}

/**
 * A new block holding bytes [start, end] of existing pieces, sharing them by reference (blocks
 * are immutable). Call inside the write transaction that read the pieces, so that compaction
 * cannot move a chunk in between.
 */
export function createBlockFromRange(tx: MetaWriter, pieces: readonly Piece[], start: number, endInclusive: number): Promise<number> {
  return tx.createBlock(slicePieces(pieces, start, endInclusive + 1));
}

/** Writes a request body durably. Call `unpin()` once the metadata referencing it committed or failed. */
export async function storeBody(blocks: BlockStore, body: BodySource, sizeMaxBytes: number): Promise<StoredBody> {
  if (body.lengthBytes !== undefined && body.lengthBytes > sizeMaxBytes) fail('RequestBodyTooLarge');
  if (body.lengthBytes !== undefined && body.lengthBytes <= INLINE_MAX_BYTES) return storeInline(body, body.lengthBytes);
  let written: WrittenData;
  try {
    written = await blocks.write(body.stream, body.lengthBytes);
  } catch (error) {
    if (error instanceof LengthMismatchError) fail('InvalidInput', { reason: 'body length does not match Content-Length' });
    throw error;
  }
  try {
    checkMd5(body.md5, written.md5);
    await blocks.sync();
    return { kind: 'chunks', ...written };
  } catch (error) {
    written.unpin();
    throw error;
  }
}

async function storeInline(body: BodySource, lengthBytes: number): Promise<StoredBody> {
  const { parts, received } = body.stream instanceof Readable
    ? await collectEvents(body.stream, lengthBytes)
    : await collectIterable(body.stream, lengthBytes);
  if (received !== lengthBytes) fail('InvalidInput', { reason: 'body shorter than Content-Length' });
  const data = parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts, received);
  const md5 = createHash('md5').update(data).digest('base64');
  checkMd5(body.md5, md5);
  return { kind: 'inline', data, sizeBytes: received, md5, unpin: () => undefined };
}

interface Collected {
  parts: Buffer[];
  received: number;
}

const tooLong = (): BlobError => new BlobError('InvalidInput', { reason: 'body longer than Content-Length' });

async function collectIterable(stream: AsyncIterable<Buffer | Uint8Array>, lengthBytes: number): Promise<Collected> {
  const parts: Buffer[] = [];
  let received = 0;
  for await (const piece of stream) {
    const buffer = Buffer.isBuffer(piece) ? piece : Buffer.from(piece);
    received += buffer.length;
    if (received > lengthBytes) throw tooLong();
    parts.push(buffer);
  }
  return { parts, received };
}

/**
 * The same for a Node stream (the request itself), with plain events: an async iterator costs
 * several promise hops per body, which showed on small PUTs. A stream that closes before 'end'
 * (the client went away) fails like the iterator would.
 */
function collectEvents(stream: Readable, lengthBytes: number): Promise<Collected> {
  return new Promise<Collected>((resolve, reject) => {
    const parts: Buffer[] = [];
    let received = 0;
    const settle = (error: unknown | undefined): void => {
      stream.off('data', onData).off('end', onEnd).off('error', settle).off('close', onClose);
      if (error === undefined) resolve({ parts, received });
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > lengthBytes) {
        settle(tooLong());
        stream.resume(); // drain what is left; the reply is an error
        return;
      }
      parts.push(chunk);
    };
    const onEnd = (): void => settle(undefined);
    const onClose = (): void => settle(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    stream.on('data', onData).on('end', onEnd).on('error', settle).on('close', onClose);
  });
}

function checkMd5(expected: string | undefined, actual: string): void {
  if (expected !== undefined && expected !== actual) fail('Md5Mismatch', { UserSpecifiedMd5: expected, ServerCalculatedMd5: actual });
}

/** Bytes [start, end) of a content as one buffer (for small reads). */
export async function readBuffer(blocks: BlockStore, pieces: readonly Piece[], start: number, end: number): Promise<Buffer> {
  const range = slicePieces(pieces, start, end);
  const buffers = await Promise.all(range.map((p) => (isInline(p) ? p.inline : blocks.readChunk(p))));
  return buffers.length === 1 && buffers[0] ? buffers[0] : Buffer.concat(buffers, end - start);
}

/** Bytes [start, end) of a content as a stream: inline pieces and runs of chunks, in order. */
export function readStream(blocks: BlockStore, pieces: readonly Piece[], start: number, end: number): ContentStream {
  const range = slicePieces(pieces, start, end);
  if (range.every((p) => !isInline(p))) return blocks.read(range as ChunkRef[], 0, end - start);
  async function* generate(): AsyncGenerator<Buffer> {
    for (const piece of range) {
      if (isInline(piece)) yield piece.inline;
      else for await (const buffer of blocks.read([piece], 0, piece.length)) yield buffer as Buffer;
    }
  }
  return Readable.from(generate(), { objectMode: false });
}
