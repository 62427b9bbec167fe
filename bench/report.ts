// Turns the measurements of one run into the markdown table and the JSON document.
//
// Every number printed comes from a ServerRun measured in this process; a metric that was not measured
// (server skipped with --only, or its workload failed) prints as "—" and its target as "not measured",
// never as a default.

import type { BenchConfig } from './config.js';
import { TARGETS, metricCatalog, speedup, type MetricId, type MetricInfo, type Target } from './metrics.js';
import { SERVER_TITLES, type ServerName } from './servers.js';

export interface ServerRun {
  server: ServerName;
  measurements: Partial<Record<MetricId, number>>;
  /** How a figure was measured when that differs from its label (e.g. a time cap cut a phase short). */
  notes: Partial<Record<MetricId, string>>;
  errors: Array<{ workload: string; message: string }>;
}

export type Runs = Partial<Record<ServerName, ServerRun>>;

export interface TargetOutcome {
  metric: MetricId;
  description: string;
  status: 'met' | 'missed' | 'not measured';
  /** Speedup (> 1 = Nimbus better) for speedup targets, Nimbus's value for bounds. */
  observed: number | undefined;
}

export function evaluateTargets(config: BenchConfig, runs: Runs): TargetOutcome[] {
  const catalog = metricCatalog(config);
  return TARGETS.map((target) => evaluate(target, catalog[target.metric], runs));
}

function evaluate(target: Target, info: MetricInfo, runs: Runs): TargetOutcome {
  if (target.kind === 'bound') {
    const value = runs[target.server]?.measurements[target.metric];
    const description = `${SERVER_TITLES[target.server]} ≤ ${target.atMost}`;
    if (value === undefined) return { metric: target.metric, description, status: 'not measured', observed: undefined };
    return { metric: target.metric, description, status: value <= target.atMost ? 'met' : 'missed', observed: value };
  }
  const nimbus = runs.nimbus?.measurements[target.metric];
  const azurite = runs.azurite?.measurements[target.metric];
  const description = `≥ ${target.atLeast}× ${info.better === 'higher' ? 'Azurite' : 'faster than Azurite'}`;
  if (nimbus === undefined || azurite === undefined) return { metric: target.metric, description, status: 'not measured', observed: undefined };
  const observed = speedup(info, nimbus, azurite);
  return { metric: target.metric, description, status: observed >= target.atLeast ? 'met' : 'missed', observed };
}

export function renderTable(config: BenchConfig, runs: Runs, outcomes: readonly TargetOutcome[]): string {
  const catalog = metricCatalog(config);
  const header = ['metric', 'Nimbus', 'Azurite', 'ratio Nimbus/Azurite', 'target'];
  const rows = (Object.entries(catalog) as Array<[MetricId, MetricInfo]>).map(([metric, info]) => {
    const nimbus = runs.nimbus?.measurements[metric];
    const azurite = runs.azurite?.measurements[metric];
    const outcome = outcomes.find((candidate) => candidate.metric === metric);
    // Only the time-capped growth phases can leave the two servers measured at different container sizes.
    const noted = metric.startsWith('grow.') && (runs.nimbus?.notes[metric] !== undefined || runs.azurite?.notes[metric] !== undefined);
    return [
      info.label, cell(metric, info.decimals, runs.nimbus), cell(metric, info.decimals, runs.azurite),
      ratioCell(info, nimbus, azurite, noted), targetCell(outcome),
    ];
  });
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}

function cell(metric: MetricId, decimals: number, run: ServerRun | undefined): string {
  if (run === undefined) return '—';
  const value = run.measurements[metric];
  if (value === undefined) return run.errors.length > 0 ? 'error' : '—'; // failed, or its workload was not selected
  const note = run.notes[metric];
  return note === undefined ? formatNumber(value, decimals) : `${formatNumber(value, decimals)} (${note})`;
}

function ratioCell(info: MetricInfo, nimbus: number | undefined, azurite: number | undefined, noted: boolean): string {
  if (nimbus === undefined || azurite === undefined) return '—';
  const caveat = noted ? '; container sizes differ, see values' : '';
  return `${formatNumber(nimbus / azurite, 2)} (${info.better} is better${caveat})`;
}

function targetCell(outcome: TargetOutcome | undefined): string {
  if (outcome === undefined) return '';
  if (outcome.observed === undefined) return `${outcome.description}: not measured`;
  const observed = outcome.description.startsWith('≥') ? `${formatNumber(outcome.observed, 2)}×` : formatNumber(outcome.observed, 1);
  return `${outcome.description}: **${outcome.status}** (${observed})`;
}

function formatNumber(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function renderNotes(config: BenchConfig): string[] {
  return [
    `Scale: ${config.scale}${config.scale === 'small' ? ' (BENCH_SCALE=small: big counts ÷10, timed windows 3 s)' : ''}.`,
    `Client: minimal HTTP/1.1 over keep-alive sockets (bench/http-connection.ts), Shared Key signed, x-ms-version 2021-08-06; closed loop; latency = send → last body byte.`,
    `Listing and growth fills run at concurrency ${config.fillConcurrency} to bound Azurite's wall time; the timed growth windows run at ${config.concurrency}.`,
    `Growth phases are time-capped (windows ${config.growWindowMaxMs / 1000} s, fill ${config.growFillBudgetMs / 1000} s): Azurite's PUT cost grows with the blobs it holds, so it may not reach ${config.growBlobCount.toLocaleString('en-US')}; a value then says the container sizes it was measured at.`,
    `RSS is the server's own node process (/proc/<pid>): sampled VmRSS every ${config.rssSampleMs} ms and VmHWM reset per phase via clear_refs.`,
    `Servers run one after the other on the same machine, each on loopback with disk persistence in a fresh temp dir, deleted when it stops (README says why).`,
    `Small-blob and 256 MiB transfer figures: ${config.rounds === 1 ? 'one round' : `median of ${config.rounds} rounds (worst round for RSS), each round a fresh instance of each server, servers alternating; every round's value is shown beside it`} (bench/rounds.ts).`,
  ];
}

export function jsonReport(config: BenchConfig, runs: Runs, outcomes: readonly TargetOutcome[], startedAt: string): unknown {
  return {
    startedAt,
    node: process.version,
    config,
    metrics: metricCatalog(config),
    servers: runs,
    targets: outcomes,
  };
}
