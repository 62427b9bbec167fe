// Rounds: the short, noise-prone workloads (small-blob PUT/GET, the 256 MiB transfer) run several times,
// each time on a fresh instance of each server, alternating servers round by round, and the report gives
// the median of the rounds (the worst round for memory).
//
// Why: on this 2-core machine a single 8 s sample of either server moves by ±20 % from one minute to the
// next (one session measured Azurite's PUT rate at 461–728 ops/s and Nimbus's at 3,350–5,289 ops/s over
// full runs), and one server's sample is taken minutes after the other's. Alternating fresh instances
// exposes both servers to the same stretch of machine time, and a median keeps one unlucky sample from
// deciding a ratio. Every round's value is printed next to the median, so nothing is hidden.
//
// Fresh instances also keep the rounds fair: Azurite's PUT cost grows with the blobs it holds, so
// repeating a workload on one instance would make its later rounds slower and flatter Nimbus.

import type { MetricId } from './metrics.js';
import type { ServerRun } from './report.js';

/** Metrics whose bound is a ceiling: the report keeps the worst round, not the median. */
const WORST_IS_MAX: ReadonlySet<MetricId> = new Set<MetricId>(['rss.transferPeakMiB']);

/** One server's run made of its round runs and its single run of the other workloads. */
export function combineRounds(rounds: readonly ServerRun[], rest: ServerRun): ServerRun {
  const combined: ServerRun = { server: rest.server, measurements: { ...rest.measurements }, notes: { ...rest.notes }, errors: [] };
  const metrics = new Set(rounds.flatMap((run) => Object.keys(run.measurements) as MetricId[]));
  for (const metric of metrics) {
    const values = rounds.map((run) => run.measurements[metric]).filter((value): value is number => value !== undefined);
    // The peak over the run spans every instance this server had: its rounds and the final one.
    if (metric === 'rss.peakMiB') {
      combined.measurements[metric] = Math.max(...values, rest.measurements[metric] ?? 0);
      continue;
    }
    combined.measurements[metric] = WORST_IS_MAX.has(metric) ? Math.max(...values) : median(values);
    if (rounds.length > 1) combined.notes[metric] = `${WORST_IS_MAX.has(metric) ? 'worst' : 'median'} of ${values.length} rounds: ${values.map(formatValue).join(' / ')}`;
  }
  combined.errors = [...rounds.flatMap((run) => run.errors), ...rest.errors];
  return combined;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function formatValue(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(2);
}
