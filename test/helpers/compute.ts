// A compute stack for tests: process-backed hosts (or what the test passes), a manual clock, no
// timer (tests call runDue), definitions in memory, IMDS on free loopback ports.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCompute, type Compute, type ComputeDeps } from '../../src/compute/compose.js';
import type { HostConfig } from '../../src/compute/service/model.js';
import { ManualClock, type Clock } from '../../src/platform/clock.js';

export const SUB = '00000000-0000-0000-0000-000000000001';
export const RG = 'rg-compute';

export interface ComputeHarness {
  readonly compute: Compute;
  readonly clock: ManualClock;
  readonly runDir: string;
  close(): Promise<void>;
}

export function processHosts(count: number, memoryMiB = 4096): HostConfig[] {
  return Array.from({ length: count }, (_, i) => ({ name: `host-${i}`, driver: 'process' as const, memoryMiB, rack: i }));
}

export async function startCompute(options: Partial<ComputeDeps> & { clock?: Clock } = {}): Promise<ComputeHarness> {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(Date.UTC(2024, 4, 1, 12, 0, 0));
  const runDir = mkdtempSync(path.join(tmpdir(), 'nimbus-compute-'));
  const compute = await createCompute({
    meta: null, host: '127.0.0.1', imdsPort: 0, runDir, tickIntervalMs: null, hosts: processHosts(2), ...options, clock,
  });
  return {
    compute, clock, runDir,
    async close() {
      await compute.stop();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** A raw IMDS request (the SDKs do not speak IMDS; this is what guests' wget/curl send). */
export async function imds(port: number, pathAndQuery: string, init: { method?: string; headers?: Record<string, string>; body?: string; metadata?: string | null } = {}) {
  const response = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.metadata === null ? {} : { Metadata: init.metadata ?? 'true' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  return { status: response.status, text, headers: response.headers, json: () => JSON.parse(text) as Record<string, unknown> };
}
