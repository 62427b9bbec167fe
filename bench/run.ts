// `npm run bench`: start each server in turn (Nimbus, then Azurite) on loopback with disk persistence in a
// fresh temp dir, run the same workloads against it, stop it and delete its data, and print a
// Nimbus-vs-Azurite table.
//
//   npm run bench                                  both servers, full scale (~10 min on 2 cores)
//   BENCH_SCALE=small npm run bench                quick run: big counts ÷10
//   npm run bench -- --only azurite                one server (no ratios)
//   npm run bench -- --json out.json               also write every measurement as JSON
//   npm run bench -- --workloads small-blobs,listing   a subset of WORKLOADS
//   BENCH_GROW_BLOBS=50000 npm run bench           growth container size (default 100k, small 10k)
//   npm run bench -- --keep-data                   keep the temp dir (server logs, data) for inspection
//   npm run bench -- --no-extras                   skip the Nimbus-only disk/snapshot/maintenance figures
//   npm run bench -- --rounds 5                    rounds of the small-blob and transfer workloads (default 3, small 1)
//
// Servers run one at a time so neither steals CPU from the other. The small-blob and transfer workloads run
// first, in rounds: each round starts a fresh instance of each server in turn, and the table reports the median
// round (rounds.ts says why). The other workloads then run once on one more fresh instance of each server.
// Progress goes to stderr; the table to stdout.
// Exit status is 1 if any workload failed on any server (the table then shows "error" for its metrics).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchConfig, growBlobsFromEnv, scaleFromEnv, type BenchConfig } from './config.js';
import { evaluateTargets, jsonReport, renderNotes, renderTable, type Runs, type ServerRun } from './report.js';
import { RssMonitor, processCpuSeconds } from './rss.js';
import { SERVER_NAMES, SERVER_TITLES, startServer, type ServerName } from './servers.js';
import { WORKLOADS, type Workload } from './workloads.js';
import { runExtras } from './extras.js';
import { combineRounds } from './rounds.js';

interface Options {
  servers: readonly ServerName[];
  workloads: readonly Workload[];
  jsonPath: string | undefined;
  keepData: boolean;
  /** Nimbus-only figures (page engine, disk copies, maintenance) after the table. */
  extras: boolean;
  /** --rounds; undefined: the scale's default (config.ts). */
  rounds: number | undefined;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const config = benchConfig(scaleFromEnv(process.env['BENCH_SCALE']), growBlobsFromEnv(process.env['BENCH_GROW_BLOBS']), options.rounds);
  const startedAt = new Date().toISOString();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'nimbus-bench-'));
  log(`work dir ${workDir}; scale ${config.scale}; workloads ${options.workloads.map((w) => w.name).join(', ')}`);
  const runs: Runs = {};
  try {
    const inRounds = options.workloads.filter((workload) => workload.inRounds === true);
    const once = options.workloads.filter((workload) => workload.inRounds !== true);
    const roundRuns = new Map<ServerName, ServerRun[]>(options.servers.map((server) => [server, []]));
    for (let round = 1; round <= config.rounds && inRounds.length > 0; round++) {
      const roundDir = path.join(workDir, `round-${round}`);
      mkdirSync(roundDir);
      for (const server of options.servers) {
        roundRuns.get(server)?.push(await benchServer(server, config, inRounds, roundDir, options.keepData, `round ${round}/${config.rounds}`));
      }
    }
    for (const server of options.servers) {
      const rest = once.length > 0 ? await benchServer(server, config, once, workDir, options.keepData) : { server, measurements: {}, notes: {}, errors: [] };
      runs[server] = combineRounds(roundRuns.get(server) ?? [], rest);
    }
  } finally {
    if (options.keepData) log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
  const outcomes = evaluateTargets(config, runs);
  const notes = renderNotes(config).map((line) => `- ${line}`);
  process.stdout.write(`\n${renderTable(config, runs, outcomes)}\n\n${notes.join('\n')}\n`);
  if (options.extras) process.stdout.write(`${await runExtras(log)}\n`);
  printErrors(runs);
  if (options.jsonPath !== undefined) {
    writeFileSync(options.jsonPath, `${JSON.stringify(jsonReport(config, runs, outcomes, startedAt), null, 2)}\n`);
    log(`wrote ${options.jsonPath}`);
  }
  return Object.values(runs).some((run) => run.errors.length > 0) ? 1 : 0;
}

async function benchServer(
  server: ServerName, config: BenchConfig, workloads: readonly Workload[], workDir: string, keepData: boolean, label = '',
): Promise<ServerRun> {
  const title = `${SERVER_TITLES[server]}${label === '' ? '' : ` (${label})`}`;
  log(`starting ${title}`);
  const run: ServerRun = { server, measurements: {}, notes: {}, errors: [] };
  const running = await startServer(server, REPO_ROOT, workDir).catch((error: unknown) => {
    run.errors.push({ workload: 'start', message: error instanceof Error ? error.message : String(error) });
    log(`${title} failed to start`);
    return undefined;
  });
  if (running === undefined) return run;
  const rss = new RssMonitor(running.pid, config.rssSampleMs);
  try {
    for (const workload of workloads) {
      const prefix = `[${server}${label === '' ? '' : ` ${label}`} ${workload.name}]`;
      const context = { endpoint: running.endpoint, server, dataDir: running.dataDir, config, rss, log: (line: string) => log(`${prefix} ${line}`) };
      const cpu = cpuMeter(running.pid);
      try {
        for (const { metric, value, note } of await workload.run(context)) {
          run.measurements[metric] = value;
          if (note !== undefined) run.notes[metric] = note;
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        run.errors.push({ workload: workload.name, message });
        log(`${prefix} FAILED: ${message}`);
      }
      log(`${prefix} ${cpu.report()}`);
    }
    run.measurements['rss.peakMiB'] = rss.overallPeakMiB();
  } finally {
    rss.stop();
    await running.stop();
    // A stopped instance's files would otherwise sit in the page cache for the rest of the run. On this
    // VM, page-cache pages the guest has not used before cost the writer ~2.5 ms per MiB to fill (about
    // 350 MiB/s) against ~0.1 ms for pages it has freed, so every round's leftovers made the next
    // rounds' writes slower, whichever server ran them. Deleting them frees those pages for both.
    if (!keepData) rmSync(running.dataDir, { recursive: true, force: true });
    log(`stopped ${title}`);
  }
  return run;
}

/** Server and client CPU over one workload: shows whether the load generator, not the server, was the limit. */
function cpuMeter(serverPid: number): { report: () => string } {
  const wallStartMs = performance.now();
  const serverStart = processCpuSeconds(serverPid);
  const clientStart = process.cpuUsage();
  return {
    report: () => {
      const wallSeconds = (performance.now() - wallStartMs) / 1000;
      const serverEnd = processCpuSeconds(serverPid);
      const client = process.cpuUsage(clientStart);
      const clientSeconds = (client.user + client.system) / 1e6;
      const server = serverStart === undefined || serverEnd === undefined ? Number.NaN : serverEnd - serverStart;
      const share = (seconds: number): string => `${((100 * seconds) / wallSeconds).toFixed(0)}%`;
      return `wall ${wallSeconds.toFixed(1)} s; CPU server ${share(server)}, client ${share(clientSeconds)} (of one core)`;
    },
  };
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      json: { type: 'string' },
      workloads: { type: 'string' },
      'keep-data': { type: 'boolean', default: false },
      'no-extras': { type: 'boolean', default: false },
      rounds: { type: 'string' },
    },
    strict: true,
  });
  const only = values.only;
  if (only !== undefined && !SERVER_NAMES.some((name) => name === only)) throw new Error(`--only must be one of ${SERVER_NAMES.join(', ')}`);
  const servers = SERVER_NAMES.filter((name) => only === undefined || name === only);
  const wanted = values.workloads?.split(',').map((name) => name.trim());
  const unknown = wanted?.filter((name) => !WORKLOADS.some((workload) => workload.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown workloads ${unknown.join(', ')}; known: ${WORKLOADS.map((w) => w.name).join(', ')}`);
  const workloads = WORKLOADS.filter((workload) => wanted === undefined || wanted.includes(workload.name));
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  return { servers, workloads, jsonPath: values.json, keepData: values['keep-data'] ?? false, extras: !(values['no-extras'] ?? false), rounds };
}

function printErrors(runs: Runs): void {
  for (const run of Object.values(runs)) {
    for (const { workload, message } of run.errors) process.stdout.write(`\n${SERVER_TITLES[run.server]} ${workload} failed: ${message}\n`);
  }
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

process.exitCode = await main();
