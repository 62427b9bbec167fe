// Compute bench: real measurements of the qemu driver's in-place update and clock sync.
//
//   node --import tsx bench/compute.ts                 20 prelaunch + 5 cold updates, text report
//   node --import tsx bench/compute.ts --json out.json also write every sample
//   COMPUTE_BENCH_UPDATES=40 node --import tsx bench/compute.ts
//
// One guest (128 MiB, 32 MiB random RAM region) is booted, then updated in place N times with the
// replacement QEMU prelaunched (the default), then a few times cold. After every update the guest
// clock is synced with qemu-ga and the residual measured (median of 5 guest-get-time). At the end
// the RAM region's md5 is compared with the one printed at boot. Figures are what was measured;
// where QEMU cannot run, runComputeBench returns { skipped: reason } and prints nothing else.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QemuDriver, qemuAvailable } from '../src/compute/hypervisor/qemu/driver.js';
import { ensureGuestImage } from '../src/compute/hypervisor/qemu/guest-image.js';
import { waitForHeartbeat, waitForLine } from '../src/compute/hypervisor/qemu/serial-log.js';
import type { InPlaceUpdateResult } from '../src/compute/hypervisor/driver.js';
import { SystemClock } from '../src/platform/clock.js';

export interface ComputeBenchResult {
  readonly qemu: string;
  readonly updates: { prelaunch: Summary; cold: Summary };
  /** |guest - host| before and after each sync, ms. */
  readonly clockAfterSyncMs: Summary;
  readonly clockBeforeSyncMs: Summary;
  readonly syncSteps: Summary;
  readonly memoryPreserved: boolean;
  readonly samples: { updates: InPlaceUpdateResult[]; clockAfterMs: number[]; clockBeforeMs: number[] };
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
}

export async function runComputeBench(options: { prelaunchUpdates?: number; coldUpdates?: number; log?: (line: string) => void } = {}): Promise<ComputeBenchResult | { skipped: string }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const probe = qemuAvailable();
  if (!probe.ok) return { skipped: probe.reason };
  const image = await ensureGuestImage();
  const runDir = mkdtempSync(path.join(tmpdir(), 'nimbus-bench-compute-'));
  const driver = new QemuDriver({ clock: new SystemClock(), runDir });
  const { vm } = await driver.create({
    vmId: 'bench-vm', memoryMiB: 128, cpus: 1, disks: [],
    boot: { kind: 'kernel', kernelPath: image.kernelPath, initrdPath: image.initrdPath, cmdline: 'nimbus.mem_mib=32' },
  });
  try {
    const consolePath = vm.logs.consolePath ?? '';
    const md5AtBoot = (await waitForLine(consolePath, /nimbus: memory-region md5=([0-9a-f]{32})/, 60_000))[1];
    await waitForLine(consolePath, /nimbus: ready/, 30_000);
    await driver.syncClock(vm); // the boot clock comes from the RTC, whole seconds only
    const updates: InPlaceUpdateResult[] = [];
    const clockAfterMs: number[] = [];
    const clockBeforeMs: number[] = [];
    const steps: number[] = [];
    const plan = [
      ...Array.from({ length: options.prelaunchUpdates ?? 20 }, () => true),
      ...Array.from({ length: options.coldUpdates ?? 5 }, () => false),
    ];
    for (const prelaunch of plan) {
      const update = await driver.inPlaceUpdate(vm, { prelaunch });
      const sync = await driver.syncClock(vm);
      updates.push(update);
      if (sync.kind === 'synced') {
        clockBeforeMs.push(Math.abs(sync.beforeMs));
        clockAfterMs.push(Math.abs(sync.afterMs));
        steps.push(sync.steps);
      }
      log(`update ${updates.length} (${update.mode}): pause ${update.pauseMs.toFixed(1)} ms; clock ${sync.kind === 'synced' ? `${sync.beforeMs.toFixed(1)} -> ${sync.afterMs.toFixed(2)} ms in ${sync.steps} steps` : 'n/a'}`);
    }
    await waitForHeartbeat(vm.logs.heartbeatPath ?? '', 0, 10_000);
    const md5Now = (await (await driver.guestAgent(vm)).exec('/usr/bin/md5sum', ['/mem/blob'])).stdout.split(' ')[0];
    return {
      qemu: probe.version,
      updates: {
        prelaunch: summarize(updates.filter((u) => u.mode === 'prelaunch').map((u) => u.pauseMs)),
        cold: summarize(updates.filter((u) => u.mode === 'cold').map((u) => u.pauseMs)),
      },
      clockAfterSyncMs: summarize(clockAfterMs),
      clockBeforeSyncMs: summarize(clockBeforeMs),
      syncSteps: summarize(steps),
      memoryPreserved: md5Now === md5AtBoot,
      samples: { updates, clockAfterMs, clockBeforeMs },
    };
  } finally {
    await driver.destroy(vm);
    rmSync(runDir, { recursive: true, force: true });
  }
}

export function renderComputeReport(result: ComputeBenchResult | { skipped: string }): string {
  if ('skipped' in result) return `compute: skipped (${result.skipped})`;
  const row = (label: string, s: Summary): string => `| ${label} | ${s.n} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${s.max.toFixed(2)} |`;
  return [
    `compute (${result.qemu}, TCG, 128 MiB guest)`,
    '',
    '| measurement | n | p50 | p99 | max |',
    '|---|---|---|---|---|',
    row('in-place update pause, prelaunch (ms)', result.updates.prelaunch),
    row('in-place update pause, cold (ms)', result.updates.cold),
    row('|guest clock lag| before sync (ms)', result.clockBeforeSyncMs),
    row('|guest clock error| after sync (ms)', result.clockAfterSyncMs),
    row('qemu-ga set steps per sync', result.syncSteps),
    '',
    `memory region md5 unchanged after ${result.samples.updates.length} updates: ${result.memoryPreserved ? 'yes' : 'NO'}`,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const jsonIndex = process.argv.indexOf('--json');
  const updates = Number(process.env['COMPUTE_BENCH_UPDATES'] ?? 20);
  const result = await runComputeBench({ prelaunchUpdates: updates });
  process.stdout.write(`${renderComputeReport(result)}\n`);
  const jsonPath = jsonIndex >= 0 ? process.argv[jsonIndex + 1] : undefined;
  if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
  if (!('skipped' in result) && !result.memoryPreserved) process.exitCode = 1;
}
