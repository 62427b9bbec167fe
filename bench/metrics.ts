// What the benchmark reports: every metric's label, unit and better direction, and the targets from the
// performance issue, expressed as "Nimbus must be at least k× better than Azurite" or an absolute bound.
//
// A speedup is always oriented so that > 1 means Nimbus is better: Nimbus/Azurite for throughputs,
// Azurite/Nimbus for latencies, durations and memory. The table still prints the raw Nimbus/Azurite ratio,
// with the better direction spelled out, because that is what the issue asked to see.

import { countLabel, type BenchConfig } from './config.js';
import type { ServerName } from './servers.js';

export type MetricId =
  | 'put.opsPerSec' | 'put.p99Ms' | 'get.opsPerSec' | 'get.p99Ms'
  | 'upload.mibPerSec' | 'download.mibPerSec' | 'rss.transferPeakMiB'
  | 'list.seconds'
  | 'grow.firstOpsPerSec' | 'grow.fillOpsPerSec' | 'grow.lastOpsPerSec'
  | 'rss.peakMiB'
  | 'versions.baseListMs' | 'versions.manyListMs' | 'versions.currentListMs' | 'versions.ratio';

export interface MetricInfo {
  label: string;
  better: 'higher' | 'lower';
  decimals: number;
}

export type Target =
  | { kind: 'speedup'; metric: MetricId; atLeast: number }
  | { kind: 'bound'; metric: MetricId; server: ServerName; atMost: number };

export function metricCatalog(config: BenchConfig): Record<MetricId, MetricInfo> {
  const small = `${config.smallBlobBytes / 1024} KiB`;
  const big = `${config.bigBlobBytes / (1024 * 1024)} MiB`;
  const blocks = `${config.blockBytes / (1024 * 1024)} MiB blocks, ${config.uploadConcurrency} in flight`;
  const n = countLabel(config.growBlobCount);
  const w = countLabel(config.growWindowCount);
  const c = `c=${config.concurrency}`;
  return {
    'put.opsPerSec': { label: `PUT ${small} (${c}) ops/s`, better: 'higher', decimals: 0 },
    'put.p99Ms': { label: `PUT ${small} p99 latency ms`, better: 'lower', decimals: 2 },
    'get.opsPerSec': { label: `GET ${small} (${c}) ops/s`, better: 'higher', decimals: 0 },
    'get.p99Ms': { label: `GET ${small} p99 latency ms`, better: 'lower', decimals: 2 },
    'upload.mibPerSec': { label: `upload ${big} (${blocks}) MiB/s`, better: 'higher', decimals: 1 },
    'download.mibPerSec': { label: `download ${big} (streamed) MiB/s`, better: 'higher', decimals: 1 },
    'rss.transferPeakMiB': { label: `server peak RSS during ${big} up+down MiB`, better: 'lower', decimals: 1 },
    'list.seconds': { label: `list ${countLabel(config.listBlobCount)} blobs (${config.listPageSize}/page, median of 3) s`, better: 'lower', decimals: 3 },
    'grow.firstOpsPerSec': { label: `PUT ${small} ops/s, container 0→${w} (${c})`, better: 'higher', decimals: 0 },
    'grow.fillOpsPerSec': { label: `PUT ${small} ops/s, fill ${w}→${countLabel(config.growBlobCount - config.growWindowCount)} (c=${config.fillConcurrency})`, better: 'higher', decimals: 0 },
    'grow.lastOpsPerSec': { label: `PUT ${small} ops/s at ${n}, container ${countLabel(config.growBlobCount - config.growWindowCount)}→${n} (${c})`, better: 'higher', decimals: 0 },
    'rss.peakMiB': { label: 'server peak RSS over the run MiB', better: 'lower', decimals: 1 },
    'versions.baseListMs': { label: 'list 5,000 entries incl. versions, 5,000 blobs × 1 version (ms)', better: 'lower', decimals: 1 },
    'versions.manyListMs': { label: 'list 5,000 entries incl. versions, one blob with many versions (ms)', better: 'lower', decimals: 1 },
    'versions.currentListMs': { label: 'list 5,000 current blobs beside one blob with many versions (ms)', better: 'lower', decimals: 1 },
    'versions.ratio': { label: 'versioned listing cost / one-version listing (≤ 2)', better: 'lower', decimals: 2 },
  };
}

export const TARGETS: readonly Target[] = [
  { kind: 'speedup', metric: 'put.opsPerSec', atLeast: 10 },
  { kind: 'speedup', metric: 'get.opsPerSec', atLeast: 15 },
  { kind: 'speedup', metric: 'upload.mibPerSec', atLeast: 1.5 },
  { kind: 'speedup', metric: 'download.mibPerSec', atLeast: 2 },
  { kind: 'speedup', metric: 'list.seconds', atLeast: 5 },
  { kind: 'bound', metric: 'rss.transferPeakMiB', server: 'nimbus', atMost: 150 },
  { kind: 'bound', metric: 'versions.ratio', server: 'nimbus', atMost: 2 },
];

/** > 1 means Nimbus is better. */
export function speedup(info: MetricInfo, nimbus: number, azurite: number): number {
  return info.better === 'higher' ? nimbus / azurite : azurite / nimbus;
}
