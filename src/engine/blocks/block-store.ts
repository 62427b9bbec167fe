// BlockStore: where bytes live. Data is appended once and never rewritten in place; the
// MetadataStore records which chunk refs are live. Unreferenced bytes are reclaimed by the
// garbage collector (engine/gc.ts), which copies live chunks out of mostly-dead extents.
//
// The write protocol that makes "acknowledged means durable" hold:
//   1. write(source)   bytes land in an extent at a reserved range; the reservation is pinned
//   2. sync()          group-committed fdatasync of every extent written since the last sync
//   3. meta.write(...) metadata that references the chunks commits durably
//   4. unpin()         the reservation no longer needs protecting from the collector
// A crash before 3 leaves unreferenced bytes (garbage), never a reference to missing bytes.
//
// Reads take a ReadGuard before looking chunk refs up in metadata, so the collector never
// deletes an extent a reader may still open (an epoch scheme, like RCU).
import type { Readable, Writable } from 'node:stream';

export interface ChunkRef {
  extentId: number;
  offset: number;
  length: number;
}

/**
 * Small blocks live inline in the metadata store (one transaction, one fsync, one read); a content
 * is therefore a sequence of pieces of either kind.
 */
export interface InlinePiece {
  inline: Buffer;
  length: number;
}

export type Piece = ChunkRef | InlinePiece;

export function isInline(piece: Piece): piece is InlinePiece {
  return 'inline' in piece;
}

export interface WrittenData {
  chunks: ChunkRef[];
  sizeBytes: number;
  /** MD5 of everything written, base64. */
  md5: string;
  /** Releases the collector pin; call after the metadata that references chunks committed (or failed). */
  unpin(): void;
}

export interface ReadGuard {
  release(): void;
}

export interface ExtentInfo {
  extentId: number;
  sizeBytes: number;
  sealed: boolean;
}

/**
 * Stored bytes as a stream. A backend may also offer writeTo: write everything into target and end
 * it, reusing a few buffers (each refilled only after target's write callback), which is cheaper
 * than piping a Readable, whose every chunk must be a fresh buffer. The stream closes either way.
 */
export type ContentStream = Readable & { writeTo?(target: Writable): Promise<void> };

export interface BlockStore {
  /**
   * Streams source into the store. expectedBytes (when known) lets the store reserve one
   * contiguous range; the write fails if the source yields a different length.
   */
  write(source: AsyncIterable<Buffer | Uint8Array>, expectedBytes: number | undefined): Promise<WrittenData>;
  /** Copies existing chunks (a byte range across them) into new chunks. */
  copy(chunks: readonly ChunkRef[]): Promise<WrittenData>;
  /** Durability barrier for everything written before the call. */
  sync(): Promise<void>;
  guardReads(): ReadGuard;
  /** Streams bytes [start, end) of the concatenation of chunks. */
  read(chunks: readonly ChunkRef[], start: number, end: number): ContentStream;
  /** Reads one chunk into memory (for small reads, where a stream costs more than the bytes). */
  readChunk(chunk: ChunkRef): Promise<Buffer>;
  extents(): ExtentInfo[];
  /** True while some write into this extent has not been unpinned. */
  isPinned(extentId: number): boolean;
  /** Removes an extent once every read guard older than this call is released. */
  retire(extentId: number): void;
  /** Bytes the store holds on disk. */
  physicalBytes(): number;
  close(): Promise<void>;
}

/** The parts of pieces that cover bytes [start, end) of their concatenation. */
export function slicePieces<P extends Piece>(pieces: readonly P[], start: number, end: number): P[] {
  const out: P[] = [];
  let base = 0;
  for (const piece of pieces) {
    const from = Math.max(start, base);
    const to = Math.min(end, base + piece.length);
    if (from < to) out.push(slicePiece(piece, from - base, to - base));
    base += piece.length;
    if (base >= end) break;
  }
  return out;
}

function slicePiece<P extends Piece>(piece: P, from: number, to: number): P {
  if (from === 0 && to === piece.length) return piece;
  if (isInline(piece)) return { inline: piece.inline.subarray(from, to), length: to - from } as P;
  return { extentId: piece.extentId, offset: piece.offset + from, length: to - from } as P;
}
