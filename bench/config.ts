// The sizes of one benchmark run, and the account every server under test is started with.
//
// Invariant: both servers get the same BenchConfig in one run, so every ratio compares equal work.
// BENCH_SCALE=small divides the big counts by 10 and shortens the timed windows for quick runs; the 256 MiB
// transfer keeps its size because the Nimbus memory target is stated for 256 MiB.

export const MIB = 1024 * 1024;

/** Azurite's well-known development account; Nimbus accepts the same one. */
export const DEV_ACCOUNT = {
  accountName: 'devstoreaccount1',
  accountKeyBase64: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;

export type ScaleName = 'full' | 'small';

export interface BenchConfig {
  scale: ScaleName;
  smallBlobBytes: number;
  /** Closed-loop concurrency of every timed small-blob phase. */
  concurrency: number;
  /** Untimed fills (the listing container, the middle of the growth run) use more clients to save wall time. */
  fillConcurrency: number;
  putDurationMs: number;
  getDurationMs: number;
  /** Upper bound on blobs the timed PUT phase writes, whatever the duration. */
  putCountMax: number;
  bigBlobBytes: number;
  blockBytes: number;
  /** Put Block requests in flight at once during the big upload. */
  uploadConcurrency: number;
  listBlobCount: number;
  listPageSize: number;
  /** Final size of the growth container; the first and last `growWindowCount` PUTs are timed. */
  growBlobCount: number;
  growWindowCount: number;
  /**
   * Time caps for the growth run. Azurite's PUT rate falls as its store grows (one 2-core run: 148 ops/s
   * at 0→3k blobs in the container, 59 ops/s at 17k→18k), even at concurrency 32, so filling 100k through
   * the API does not fit the ~10-minute budget. Each timed window stops after `growWindowMaxMs` and the
   * fill after `growFillBudgetMs`; the report then states the container sizes each rate was measured at.
   */
  growWindowMaxMs: number;
  growFillBudgetMs: number;
  /** Period of the /proc RSS sampler; per-phase peaks also come from VmHWM (see rss.ts). */
  rssSampleMs: number;
  /** Fresh-instance rounds of the small-blob and transfer workloads (rounds.ts); the report takes their median. */
  rounds: number;
}

/** `growBlobsOverride` (env BENCH_GROW_BLOBS) replaces the growth container's final size; it must be a multiple of 10. */
export function benchConfig(scale: ScaleName, growBlobsOverride?: number, roundsOverride?: number): BenchConfig {
  const divisor = scale === 'small' ? 10 : 1;
  const growBlobCount = growBlobsOverride ?? 100_000 / divisor;
  if (!Number.isInteger(growBlobCount / 10) || growBlobCount <= 0) throw new Error(`growth blob count must be a positive multiple of 10, got ${growBlobCount}`);
  const rounds = roundsOverride ?? (scale === 'small' ? 1 : 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, got ${rounds}`);
  return {
    scale,
    smallBlobBytes: 4 * 1024,
    concurrency: 16,
    fillConcurrency: 32,
    putDurationMs: scale === 'small' ? 3_000 : 8_000,
    getDurationMs: scale === 'small' ? 3_000 : 8_000,
    putCountMax: 400_000,
    bigBlobBytes: 256 * MIB,
    blockBytes: 8 * MIB,
    uploadConcurrency: 4,
    listBlobCount: 10_000 / divisor,
    listPageSize: 5_000,
    growBlobCount,
    growWindowCount: growBlobCount / 10,
    growWindowMaxMs: scale === 'small' ? 8_000 : 20_000,
    growFillBudgetMs: scale === 'small' ? 45_000 : 150_000,
    rssSampleMs: 50,
    rounds,
  };
}

export function growBlobsFromEnv(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

export function scaleFromEnv(value: string | undefined): ScaleName {
  if (value === undefined || value === '' || value === 'full') return 'full';
  if (value === 'small') return 'small';
  throw new Error(`BENCH_SCALE must be "small" or "full", got "${value}"`);
}

/** "10k" for 10_000: labels follow the configured counts, so a small run never claims big numbers. */
export function countLabel(count: number): string {
  return count >= 1000 && count % 1000 === 0 ? `${count / 1000}k` : String(count);
}
