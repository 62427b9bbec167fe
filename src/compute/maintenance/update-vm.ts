// One VM's part of a domain update: probe → pause → host work → resume → clock sync → probe.
// Returns what really happened; never throws (a failure is an outcome the campaign records).
//
// Memory evidence, by driver (the driver exposes what it can):
//   qemu     md5 of the guest's RAM region (/mem/blob, printed on the console at boot by the test
//            guest, recomputed inside the guest with qemu-ga guest-exec after the update) and the
//            ttyS1 heartbeat counter, which must continue past its value before the pause.
//   process  the same pid before and after (the process stayed resident) and its "hb N" output
//            counter continuing. Not a VM: the record says 'process-resident', never 'guest-region'.
//   reboot   memory is lost by design; nothing to probe.
import { readFile } from 'node:fs/promises';
import type { Clock } from '../../platform/clock.js';
import { delay, monotonicMs } from '../../platform/clock.js';
import { QemuDriver } from '../hypervisor/qemu/driver.js';
import { readHeartbeats, waitForHeartbeat } from '../hypervisor/qemu/serial-log.js';
import type { ComputeService, VmRuntime } from '../service/compute-service.js';
import type { ClockRecord, MemoryCheck, ResolvedRequest, TimelineEntry, VmMaintenanceRecord } from './campaign.js';

export interface HostWorkContext {
  readonly campaignId: string;
  readonly host: string;
  readonly vm: string;
  readonly availabilitySet: string | null;
  readonly updateDomain: number;
}

/** The host update itself, run while the VM is paused. Throwing = the host failed its update. */
export type HostWork = (context: HostWorkContext) => Promise<void>;

const HEARTBEAT_WAIT_MS = 5000;

export interface UpdateVmInput {
  readonly clock: Clock;
  readonly compute: ComputeService;
  readonly request: ResolvedRequest;
  readonly hostWork: HostWork;
  readonly context: HostWorkContext;
  readonly vmKey: string;
  readonly runtime: VmRuntime;
}

export type UpdateVmResult = Omit<VmMaintenanceRecord, 'timeline' | 'vm' | 'vmKey' | 'host' | 'availabilitySet' | 'updateDomain'> & {
  readonly timeline: readonly TimelineEntry[];
};

export async function updateVm(input: UpdateVmInput): Promise<UpdateVmResult> {
  const { clock, runtime, request } = input;
  const timeline: TimelineEntry[] = [];
  const before = await probeBefore(runtime);
  const hostWork = () => input.hostWork(input.context);
  timeline.push({ atMs: clock.nowMs(), what: 'paused' });
  try {
    if (request.kind === 'reboot') {
      const started = monotonicMs();
      const pids = await input.compute.rebootForMaintenance(input.vmKey, hostWork);
      const pauseMs = monotonicMs() - started;
      timeline.push({ atMs: clock.nowMs(), what: 'resumed', detail: 'rebooted' });
      const after = input.compute.runtimeOf(input.vmKey) ?? runtime;
      const clockRecord = await syncClock(after);
      timeline.push({ atMs: clock.nowMs(), what: 'clock-synced', detail: describeClock(clockRecord) });
      return {
        outcome: 'updated', error: null, mode: 'reboot', pauseKind: 'reboot-downtime', pauseMs, ...pids,
        clock: clockRecord, memory: { kind: 'lost-by-design', reason: 'reboot' }, timeline,
      };
    }
    const result = await runtime.driver.inPlaceUpdate(runtime.handle, { hostWork, prelaunch: request.prelaunch });
    timeline.push({ atMs: clock.nowMs(), what: 'resumed', detail: `${result.mode}, pause ${result.pauseMs.toFixed(1)} ms` });
    const clockRecord = await syncClock(runtime);
    timeline.push({ atMs: clock.nowMs(), what: 'clock-synced', detail: describeClock(clockRecord) });
    const memory = await probeAfter(runtime, before, request.verifyMemory, result.pidBefore);
    const overBudget = result.pauseMs > request.pauseBudgetMs;
    const lost = 'preserved' in memory && !memory.preserved;
    const error = overBudget ? { code: 'PauseBudgetExceeded', reason: `${result.pauseMs.toFixed(0)} ms > ${request.pauseBudgetMs} ms` }
      : lost ? { code: 'MemoryNotPreserved', reason: JSON.stringify(memory) } : null;
    if (error) timeline.push({ atMs: clock.nowMs(), what: 'failed', detail: error.code });
    return {
      outcome: error ? 'failed' : 'updated', error, mode: result.mode, pauseKind: result.pauseKind, pauseMs: result.pauseMs,
      pidBefore: result.pidBefore, pidAfter: result.pidAfter, clock: clockRecord, memory, timeline,
    };
  } catch (caught) {
    const code = (caught as { code?: unknown }).code;
    const error = { code: typeof code === 'string' ? code : 'HostUpdateFailed', reason: String((caught as Error).message ?? caught) };
    timeline.push({ atMs: clock.nowMs(), what: 'failed', detail: `${error.code}: ${error.reason}` });
    return {
      outcome: 'failed', error, mode: null, pauseKind: null, pauseMs: null, pidBefore: before.pid, pidAfter: runtime.handle.pid(),
      clock: null, memory: { kind: 'not-checked', reason: 'update failed' }, timeline,
    };
  }
}

interface Before {
  readonly pid: number;
  readonly heartbeat: number | null;
  readonly md5: string | null;
}

function heartbeatFile(runtime: VmRuntime): string | undefined {
  return runtime.handle.logs.heartbeatPath ?? runtime.handle.logs.consolePath;
}

async function probeBefore(runtime: VmRuntime): Promise<Before> {
  const file = heartbeatFile(runtime);
  const heartbeat = file ? (await readHeartbeats(file)).at(-1)?.counter ?? null : null;
  const console = runtime.driver instanceof QemuDriver && runtime.handle.logs.consolePath
    ? await readFile(runtime.handle.logs.consolePath, 'utf8').catch(() => '') : '';
  const md5 = [...console.matchAll(/nimbus: memory-region md5=([0-9a-f]{32})/g)].at(-1)?.[1] ?? null;
  return { pid: runtime.handle.pid(), heartbeat, md5 };
}

async function probeAfter(runtime: VmRuntime, before: Before, verifyMemory: boolean, pidBefore: number): Promise<MemoryCheck> {
  const file = heartbeatFile(runtime);
  const heartbeatAfter = file && before.heartbeat !== null
    ? await waitForHeartbeat(file, before.heartbeat, HEARTBEAT_WAIT_MS).then((beat) => beat.counter, () => null)
    : null;
  const continued = heartbeatAfter !== null;
  if (runtime.driver instanceof QemuDriver) {
    if (!verifyMemory) return { kind: 'not-checked', reason: 'verifyMemory is off' };
    const md5After = await runtime.driver.guestAgent(runtime.handle, 10_000)
      .then((qga) => qga.exec('/usr/bin/md5sum', ['/mem/blob']))
      .then((out) => (out.exitCode === 0 ? out.stdout.split(' ')[0] ?? null : null), () => null);
    if (before.md5 === null || md5After === null) return { kind: 'not-checked', reason: 'the guest has no memory region to check' };
    return {
      kind: 'guest-region', md5Before: before.md5, md5After, heartbeatBefore: before.heartbeat, heartbeatAfter,
      preserved: md5After === before.md5 && continued,
    };
  }
  const pidAfter = runtime.handle.pid();
  return {
    kind: 'process-resident', pidBefore, pidAfter, heartbeatBefore: before.heartbeat, heartbeatAfter,
    preserved: pidAfter === pidBefore && (before.heartbeat === null || continued),
  };
}

/**
 * The driver's sync steps until its residual is ~1 ms, but on a loaded host (several TCG guests
 * per core) one slow guest-get-time round trip can leave it at ~10 ms (seen in the e2e run
 * with five guests on two cores). A residual above RESYNC_ABOVE_MS gets up to three more full syncs.
 */
const RESYNC_ABOVE_MS = 2;
const SYNC_ATTEMPTS_MAX = 4;
/** Between attempts: right after resume the guest is busiest (timers catching up), which skews the probe. */
const RESYNC_PAUSE_MS = 250;

async function syncClock(runtime: VmRuntime): Promise<ClockRecord> {
  try {
    let first: number | null = null;
    let steps = 0;
    for (let attempt = 1; ; attempt++) {
      const sync = await runtime.driver.syncClock(runtime.handle);
      if (sync.kind !== 'synced') return { kind: 'not-applicable', reason: sync.reason };
      first ??= sync.beforeMs;
      steps += sync.steps;
      if (Math.abs(sync.afterMs) <= RESYNC_ABOVE_MS || attempt >= SYNC_ATTEMPTS_MAX) {
        return { kind: 'synced', beforeMs: first, afterMs: sync.afterMs, steps };
      }
      await delay(RESYNC_PAUSE_MS);
    }
  } catch (error) {
    return { kind: 'failed', reason: String(error) };
  }
}

function describeClock(record: ClockRecord): string {
  return record.kind === 'synced' ? `${record.beforeMs.toFixed(1)} -> ${record.afterMs.toFixed(2)} ms` : `${record.kind}: ${record.reason}`;
}
