// The benchmark's workloads: a list of named steps, each run against one server and returning measurements.
// To add a workload, write a `Workload` and append it to WORKLOADS (and its metrics to metrics.ts).
//
// Invariants:
// - Each workload uses its own container, so workloads do not see each other's blobs (except for the
//   server-wide effects that are the point of measuring, such as a growing store).
// - Every timed operation is checked: wrong status throws (blob-ops.ts), wrong length or bytes throw here.
// - Each workload makes its own client and closes it, so sockets never idle across workloads.

import { MIB, countLabel, type BenchConfig } from './config.js';
import { SignedBlobClient, type BlobEndpoint } from './client.js';
import { createContainer, getBlob, listBlobsPage, putBlock, putBlockBlob, putBlockList } from './blob-ops.js';
import { PatternVerifier, opsPerSecond, percentileMs, runClosedLoop, seededBytes, stampBlock } from './load.js';
import type { MetricId } from './metrics.js';
import type { RssMonitor } from './rss.js';
import { versionsListing } from './versions.js';

export interface WorkloadContext {
  endpoint: BlobEndpoint;
  /** Which server runs (some workloads exist only for Nimbus) and its data dir (for its CLI). */
  server?: string;
  dataDir?: string;
  config: BenchConfig;
  rss: RssMonitor;
  log: (line: string) => void;
}

export interface Measurement {
  metric: MetricId;
  value: number;
  /** Printed next to the value: a fact about how this figure was measured that the label does not say. */
  note?: string;
}

export interface Workload {
  name: string;
  run: (context: WorkloadContext) => Promise<Measurement[]>;
  /** Short and noise-prone: run in rounds on fresh instances, median reported (rounds.ts); else once. */
  inRounds?: true;
}

const LIST_REPEATS = 3;

export const WORKLOADS: readonly Workload[] = [
  { name: 'small-blobs', run: smallBlobs, inRounds: true },
  { name: 'big-blob', run: bigBlob, inRounds: true },
  { name: 'listing', run: listing },
  { name: 'growth', run: growth },
  { name: 'versions', run: (context) => versionsListing(context, (fn) => withClient(context.endpoint, context.config.fillConcurrency, fn)) },
];

/** 1. PUT 4 KiB blobs for a fixed time, then GET the same blobs for a fixed time. */
async function smallBlobs({ endpoint, config, log }: WorkloadContext): Promise<Measurement[]> {
  const container = 'small-blobs';
  const payload = seededBytes(config.smallBlobBytes, 1);
  return withClient(endpoint, config.concurrency, async (client) => {
    await createContainer(client, container);
    const put = await runClosedLoop({
      concurrency: config.concurrency, countMax: config.putCountMax, durationMs: config.putDurationMs,
      op: (index) => putBlockBlob(client, container, smallName(index), payload),
    });
    log(`PUT ${put.ops} blobs in ${(put.elapsedMs / 1000).toFixed(2)} s`);
    const get = await runClosedLoop({
      concurrency: config.concurrency, countMax: config.putCountMax, durationMs: config.getDurationMs,
      op: async (index) => {
        const bytes = await getBlob(client, container, smallName(index % put.ops));
        if (bytes !== payload.length) throw new Error(`GET returned ${bytes} bytes, expected ${payload.length}`);
      },
    });
    log(`GET ${get.ops} blobs in ${(get.elapsedMs / 1000).toFixed(2)} s`);
    return [
      { metric: 'put.opsPerSec', value: opsPerSecond(put) },
      { metric: 'put.p99Ms', value: percentileMs(put.latenciesMs, 99) },
      { metric: 'get.opsPerSec', value: opsPerSecond(get) },
      { metric: 'get.p99Ms', value: percentileMs(get.latenciesMs, 99) },
    ];
  });
}

/** 2. One big blob: Put Block × n + Put Block List, then one streamed, verified GET; server RSS throughout. */
async function bigBlob({ endpoint, config, rss, log }: WorkloadContext): Promise<Measurement[]> {
  const container = 'big-blob';
  const blob = 'big.bin';
  const template = seededBytes(config.blockBytes, 2);
  const blockCount = Math.ceil(config.bigBlobBytes / config.blockBytes);
  if (blockCount * config.blockBytes !== config.bigBlobBytes) throw new Error('bigBlobBytes must be a multiple of blockBytes');
  const blockIds = Array.from({ length: blockCount }, (_, index) => blockId(index));
  const megabytes = config.bigBlobBytes / MIB;

  await withClient(endpoint, 1, (client) => createContainer(client, container));
  const { result, peak } = await rss.measure(async () => {
    const uploadSeconds = await timed(() => uploadBlocks(endpoint, config, container, blob, template, blockIds));
    log(`uploaded ${megabytes} MiB in ${uploadSeconds.toFixed(2)} s`);
    const downloadSeconds = await timed(() => downloadVerified(endpoint, container, blob, template, config.bigBlobBytes));
    log(`downloaded ${megabytes} MiB in ${downloadSeconds.toFixed(2)} s`);
    return { uploadSeconds, downloadSeconds };
  });
  if (!peak.exact) log('VmHWM reset refused by the kernel; transfer peak RSS comes from samples only');
  return [
    { metric: 'upload.mibPerSec', value: megabytes / result.uploadSeconds },
    { metric: 'download.mibPerSec', value: megabytes / result.downloadSeconds },
    { metric: 'rss.transferPeakMiB', value: peak.peakMiB },
  ];
}

async function uploadBlocks(
  endpoint: BlobEndpoint, config: BenchConfig, container: string, blob: string, template: Buffer, blockIds: readonly string[],
): Promise<void> {
  // One buffer per request in flight: a buffer is restamped only after the server has answered for it.
  const freeBuffers = Array.from({ length: config.uploadConcurrency }, () => Buffer.from(template));
  await withClient(endpoint, config.uploadConcurrency, async (client) => {
    await runClosedLoop({
      concurrency: config.uploadConcurrency, countMax: blockIds.length,
      op: async (index) => {
        const buffer = freeBuffers.pop();
        const id = blockIds[index];
        if (buffer === undefined || id === undefined) throw new Error('upload pool exhausted');
        stampBlock(buffer, index);
        try {
          await putBlock(client, container, blob, id, buffer);
        } finally {
          freeBuffers.push(buffer);
        }
      },
    });
    await putBlockList(client, container, blob, blockIds);
  });
}

async function downloadVerified(endpoint: BlobEndpoint, container: string, blob: string, template: Buffer, expectedBytes: number): Promise<void> {
  const verifier = new PatternVerifier(template);
  await withClient(endpoint, 1, (client) => getBlob(client, container, blob, { kind: 'stream', onChunk: (chunk) => verifier.update(chunk) }));
  verifier.finish(expectedBytes);
}

/**
 * 3. Fill a container (untimed), then time LIST_REPEATS full listings, following NextMarker page by page, and
 * report the median: one listing of 10k blobs takes a tenth of a second, so a single sample is at the mercy of
 * JIT warm-up and of whatever else the machine does in that instant. Every listing is checked for its count.
 */
async function listing({ endpoint, config, log }: WorkloadContext): Promise<Measurement[]> {
  const container = 'listing';
  const payload = seededBytes(config.smallBlobBytes, 3);
  return withClient(endpoint, config.fillConcurrency, async (client) => {
    await createContainer(client, container);
    const fill = await runClosedLoop({
      concurrency: config.fillConcurrency, countMax: config.listBlobCount,
      op: (index) => putBlockBlob(client, container, spreadName('l', index), payload),
    });
    log(`filled ${fill.ops} blobs at ${opsPerSecond(fill).toFixed(0)} ops/s (c=${config.fillConcurrency})`);
    const samples: number[] = [];
    for (let repeat = 0; repeat < LIST_REPEATS; repeat++) {
      let listed = 0;
      let pages = 0;
      const seconds = await timed(async () => {
        let marker: string | undefined;
        do {
          const page = await listBlobsPage(client, container, config.listPageSize, marker);
          listed += page.blobCount;
          pages += 1;
          marker = page.nextMarker;
        } while (marker !== undefined);
      });
      if (listed !== config.listBlobCount) throw new Error(`listing returned ${listed} blobs, expected ${config.listBlobCount}`);
      log(`listed ${listed} blobs in ${pages} pages in ${seconds.toFixed(3)} s`);
      samples.push(seconds);
    }
    const median = [...samples].sort((a, b) => a - b)[Math.floor(LIST_REPEATS / 2)] ?? Number.NaN;
    return [{ metric: 'list.seconds', value: median }];
  });
}

/**
 * 4. PUT rate as one container grows: timed windows at the start and at the end, a fill in between at higher
 * concurrency. Names are spread over the key space (see spreadName) so inserts land all over the container's
 * index, not always at its end. Windows and fill are time-capped (config.ts says why); when a cap cut a phase
 * short, the measurement's note gives the container sizes it was really measured between.
 */
async function growth({ endpoint, config, log }: WorkloadContext): Promise<Measurement[]> {
  const container = 'growth';
  const payload = seededBytes(config.smallBlobBytes, 4);
  const client = new SignedBlobClient(endpoint, config.fillConcurrency);
  const phase = async (firstIndex: number, countMax: number, concurrency: number, durationMs: number): Promise<GrowthPhase> => {
    const result = await runClosedLoop({
      concurrency, countMax, firstIndex, durationMs,
      op: (index) => putBlockBlob(client, container, spreadName('g', index), payload),
    });
    const range = `${countLabel(firstIndex)}→${countLabel(firstIndex + result.ops)}`;
    log(`${range}: ${opsPerSecond(result).toFixed(0)} ops/s (c=${concurrency})`);
    return { opsPerSec: opsPerSecond(result), from: firstIndex, to: firstIndex + result.ops, cut: result.ops < countMax };
  };
  try {
    await createContainer(client, container);
    const window = config.growWindowCount;
    const first = await phase(0, window, config.concurrency, config.growWindowMaxMs);
    const fillCount = Math.max(0, config.growBlobCount - window - first.to);
    const fill = await phase(first.to, fillCount, config.fillConcurrency, config.growFillBudgetMs);
    const last = await phase(fill.to, window, config.concurrency, config.growWindowMaxMs);
    const capped = first.cut || fill.cut || last.cut;
    if (capped) log(`time caps reached: container holds ${last.to} of ${config.growBlobCount} blobs`);
    return [
      { metric: 'grow.firstOpsPerSec', value: first.opsPerSec, ...(first.cut ? { note: rangeNote(first) } : {}) },
      { metric: 'grow.fillOpsPerSec', value: fill.opsPerSec, ...(fill.cut ? { note: rangeNote(fill) } : {}) },
      { metric: 'grow.lastOpsPerSec', value: last.opsPerSec, ...(capped ? { note: `stopped at ${last.to.toLocaleString('en-US')} blobs by time caps; ${rangeNote(last)}` } : {}) },
    ];
  } finally {
    client.close();
  }
}

interface GrowthPhase {
  opsPerSec: number;
  from: number;
  to: number;
  /** The phase's time cap stopped it before its count. */
  cut: boolean;
}

function rangeNote(phase: GrowthPhase): string {
  return `measured at ${phase.from.toLocaleString('en-US')}→${phase.to.toLocaleString('en-US')} blobs`;
}

async function withClient<T>(endpoint: BlobEndpoint, maxSockets: number, work: (client: SignedBlobClient) => Promise<T>): Promise<T> {
  const client = new SignedBlobClient(endpoint, maxSockets);
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const startMs = performance.now();
  await work();
  return (performance.now() - startMs) / 1000;
}

function smallName(index: number): string {
  return `blob-${index.toString().padStart(7, '0')}`;
}

/** A name whose prefix is a 32-bit bijective hash of the index: unique, and spread over the key space. */
function spreadName(prefix: string, index: number): string {
  const hashed = Math.imul(index + 1, 0x9e3779b1) >>> 0;
  return `${prefix}-${hashed.toString(16).padStart(8, '0')}-${index}`;
}

/** Block ids are base64 of equal-length strings (Azure requires equal lengths within a blob). */
function blockId(index: number): string {
  return Buffer.from(`block-${index.toString().padStart(6, '0')}`).toString('base64');
}
