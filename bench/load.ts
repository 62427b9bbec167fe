// Load shapes and payloads: a closed-loop runner with per-operation latency, percentiles, and a seeded,
// verifiable byte pattern for the big blob.
//
// Closed loop: `concurrency` workers each issue one operation, wait for it, issue the next. Throughput is
// completed operations / wall time of the phase; latency is per operation, send to last body byte.
//
// Big-blob pattern (never materialised whole; one template block is reused):
//
//   block i = [ i as u32 BE | "NIMB" | template[8 .. blockBytes) ]
//
// The 8-byte stamp makes every block distinct (a server cannot pass by returning block 0 32 times); the rest
// comes from a seeded PRNG so the bytes are incompressible. The verifier compares downloaded chunks against
// the template with memcmp-speed Buffer.equals, so checking costs the client little.

import { performance } from 'node:perf_hooks';

export interface LoadResult {
  ops: number;
  elapsedMs: number;
  latenciesMs: Float64Array;
}

export interface ClosedLoopOptions {
  concurrency: number;
  /** Operation indexes run from `firstIndex` up to `firstIndex + countMax - 1`. */
  countMax: number;
  firstIndex?: number;
  /** Stop starting new operations after this long; undefined runs all `countMax`. */
  durationMs?: number;
  op: (index: number) => Promise<void>;
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const firstIndex = options.firstIndex ?? 0;
  const latenciesMs = new Float64Array(options.countMax);
  const startMs = performance.now();
  const deadlineMs = options.durationMs === undefined ? Number.POSITIVE_INFINITY : startMs + options.durationMs;
  let issued = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && issued < options.countMax && performance.now() < deadlineMs) {
      const slot = issued;
      issued += 1;
      const opStartMs = performance.now();
      try {
        await options.op(firstIndex + slot);
      } catch (error) {
        failure ??= { error }; // stop every worker, so no load leaks into the next phase
        return;
      }
      latenciesMs[slot] = performance.now() - opStartMs;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (failure !== undefined) throw failure.error;
  return { ops: issued, elapsedMs: performance.now() - startMs, latenciesMs: latenciesMs.subarray(0, issued) };
}

export function opsPerSecond(result: LoadResult): number {
  return result.ops / (result.elapsedMs / 1000);
}

/** Nearest-rank percentile, `p` in (0, 100]. */
export function percentileMs(latenciesMs: Float64Array, p: number): number {
  if (latenciesMs.length === 0) return Number.NaN;
  const sorted = Float64Array.from(latenciesMs).sort();
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? Number.NaN;
}

/** mulberry32: tiny, seeded, good enough for incompressible filler. */
export function seededBytes(length: number, seed: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let state = seed >>> 0;
  for (let offset = 0; offset < length; offset += 4) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const word = (t ^ (t >>> 14)) >>> 0;
    if (offset + 4 <= length) buffer.writeUInt32LE(word, offset);
    else for (let i = offset; i < length; i += 1) buffer[i] = (word >>> ((i - offset) * 8)) & 0xff;
  }
  return buffer;
}

const STAMP_BYTES = 8;
const STAMP_TAG = 0x4e494d42; // "NIMB"

/** Writes block `index`'s stamp into a buffer that otherwise holds the template. */
export function stampBlock(block: Buffer, index: number): void {
  block.writeUInt32BE(index, 0);
  block.writeUInt32BE(STAMP_TAG, 4);
}

/** Checks a streamed download against the pattern, chunk by chunk, without buffering the blob. */
export class PatternVerifier {
  readonly #template: Buffer;
  readonly #stamp = Buffer.alloc(STAMP_BYTES);
  #offset = 0;
  #mismatchAt: number | undefined;

  constructor(template: Buffer) {
    this.#template = template;
  }

  update(chunk: Buffer): void {
    let consumed = 0;
    while (consumed < chunk.length) {
      const blockBytes = this.#template.length;
      const inBlock = this.#offset % blockBytes;
      const take = Math.min(chunk.length - consumed, blockBytes - inBlock);
      const piece = chunk.subarray(consumed, consumed + take);
      if (this.#mismatchAt === undefined && !this.#pieceMatches(piece, Math.floor(this.#offset / blockBytes), inBlock)) {
        this.#mismatchAt = this.#offset;
      }
      this.#offset += take;
      consumed += take;
    }
  }

  /** Throws unless exactly `expectedBytes` bytes of the pattern arrived. */
  finish(expectedBytes: number): void {
    if (this.#mismatchAt !== undefined) throw new Error(`downloaded bytes differ from uploaded ones near offset ${this.#mismatchAt}`);
    if (this.#offset !== expectedBytes) throw new Error(`downloaded ${this.#offset} bytes, expected ${expectedBytes}`);
  }

  #pieceMatches(piece: Buffer, blockIndex: number, inBlock: number): boolean {
    stampBlock(this.#stamp, blockIndex);
    const stampLength = Math.max(0, Math.min(STAMP_BYTES - inBlock, piece.length));
    const stampOk = piece.subarray(0, stampLength).equals(this.#stamp.subarray(inBlock, inBlock + stampLength));
    const rest = piece.subarray(stampLength);
    const templateStart = inBlock + stampLength;
    return stampOk && rest.equals(this.#template.subarray(templateStart, templateStart + rest.length));
  }
}
