// QemuDriver: real VMs under QEMU, with memory-preserving in-place update.
//
// In-place update (QEMU's cpr-reboot recipe, measured in shared/spec/compute-notes.md §1/§5):
//
//   prelaunch (default)                               cold (prelaunch: false)
//   new QEMU -incoming defer, caps, migrate-incoming
//   ── pause starts ──────────────────────────────     ── pause starts ──────────────
//   old: stop                                         old: stop
//   host work                                         host work
//   old: migrate unix:  (device state only; RAM is    new QEMU -incoming defer, caps, migrate-incoming
//        shared via /dev/shm + x-ignore-shared)       old: migrate unix:
//   new: MIGRATION completed                          new: MIGRATION completed
//   new: cont                                         new: cont
//   ── pause ends ────────────────────────────────     ── pause ends ────────────────
//   old: quit; qga reconnects to the new socket
//
// Rejected: migrating to a state file (QEMU 7.2 has no `file:` URI; `exec:cat` adds a fork) — a
// unix socket straight into the waiting QEMU moves the same ~300 KB with no file in between.
// Risk (from the notes): prelaunch relies on the new QEMU not writing guest RAM before
// migrate-incoming; it held in every run measured, and QEMU 10 formalised it as cpr-transfer.
//
// If the handover fails the old QEMU still holds a complete, stopped VM: it is resumed and the
// update reports InPlaceUpdateFailed, so a failed update costs a pause, never the VM.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../../platform/clock.js';
import { monotonicMs, withTimeout } from '../../../platform/clock.js';
import { HypervisorError } from '../errors.js';
import type {
  Capabilities, ClockMeasurement, ClockSyncResult, CreateResult, HypervisorDriver, InPlaceUpdateOptions,
  InPlaceUpdateResult, PauseResult, VmHandle, VmRunState, VmSpec,
} from '../driver.js';
import { migratePath, qemuArgs, qgaPath, qmpPath, type KernelBoot, type QemuLayout } from './args.js';
import { QmpClient } from './qmp.js';
import { QgaClient } from './qga.js';

export interface QemuDriverOptions {
  readonly clock: Clock;
  /** Where each VM gets a folder for sockets and serial logs. */
  readonly runDir: string;
  /** Where guest RAM files go; must be a tmpfs so the memory really is RAM. */
  readonly shmDir?: string;
  readonly qemuBinary?: string;
  /** 'tcg' works everywhere; 'kvm' where /dev/kvm really works (it does not on the measured machines). */
  readonly accel?: string;
}

const MONITOR_TIMEOUT_MS = 10_000;
const CLOCK_TOLERANCE_MS = 1;
const CLOCK_STEPS_MAX = 8;
const CAPABILITIES = [
  { capability: 'x-ignore-shared', state: true },
  { capability: 'events', state: true },
];

/** One QEMU process hosting a VM. */
interface Generation {
  readonly number: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly qmp: QmpClient;
}

class QemuVm implements VmHandle {
  readonly driver = 'qemu' as const;
  runState: VmRunState = 'paused';
  qga: QgaClient | null = null;
  constructor(
    readonly spec: VmSpec,
    readonly kernel: KernelBoot,
    readonly layout: QemuLayout,
    public current: Generation,
  ) {}
  get vmId(): string {
    return this.spec.vmId;
  }
  get logs(): { consolePath: string; heartbeatPath: string } {
    return { consolePath: this.layout.consolePath, heartbeatPath: this.layout.heartbeatPath };
  }
  readonly pid = (): number => this.current.child.pid ?? -1;
  readonly generation = (): number => this.current.number;
  readonly state = (): VmRunState => this.runState;
}

export function qemuAvailable(binary = 'qemu-system-x86_64'): { ok: true; version: string } | { ok: false; reason: string } {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { ok: false, reason: `${binary} not runnable: ${probe.error?.message ?? probe.stderr}` };
  return { ok: true, version: probe.stdout.split('\n')[0] ?? '' };
}

export class QemuDriver implements HypervisorDriver {
  readonly kind = 'qemu' as const;
  readonly capabilities: Capabilities = {
    isolation: 'vm', memoryPreservingUpdate: true, clockSync: 'qemu-ga', disks: 'nbd', imds: 'guestfwd', pauseMechanism: 'qemu-stop',
  };
  readonly #options: Required<QemuDriverOptions>;

  constructor(options: QemuDriverOptions) {
    this.#options = { shmDir: '/dev/shm', qemuBinary: 'qemu-system-x86_64', accel: 'tcg', ...options };
  }

  async create(spec: VmSpec): Promise<CreateResult> {
    if (spec.boot.kind !== 'kernel') throw new HypervisorError('VmStartFailed', { vmId: spec.vmId, reason: 'qemu boots a kernel, not a command' });
    const started = monotonicMs();
    const runDir = path.join(this.#options.runDir, spec.vmId);
    mkdirSync(runDir, { recursive: true });
    const layout: QemuLayout = {
      runDir,
      memPath: path.join(this.#options.shmDir, `nimbus-vm-${spec.vmId}.ram`),
      consolePath: path.join(runDir, 'console.log'),
      heartbeatPath: path.join(runDir, 'heartbeat.log'),
    };
    const kernel: KernelBoot = {
      kernelPath: spec.boot.kernelPath,
      initrdPath: spec.boot.initrdPath,
      cmdline: [
        'console=ttyS0 panic=-1', `nimbus.vm=${spec.vmId}`, spec.imdsPort === undefined ? '' : 'nimbus.imds=1', spec.boot.cmdline ?? '',
      ].filter((part) => part !== '').join(' '),
    };
    const first = await this.#launch(spec, kernel, layout, 0, false);
    const vm = new QemuVm(spec, kernel, layout, first);
    await first.qmp.execute('cont');
    vm.runState = 'running';
    return { vm, startMs: monotonicMs() - started };
  }

  async pause(handle: VmHandle): Promise<PauseResult> {
    const vm = this.#vm(handle);
    const started = monotonicMs();
    await vm.current.qmp.execute('stop');
    vm.runState = 'paused';
    return { pauseKind: 'vm-blackout', mechanism: 'qemu-stop', tookMs: monotonicMs() - started };
  }

  async resume(handle: VmHandle): Promise<PauseResult> {
    const vm = this.#vm(handle);
    const started = monotonicMs();
    await vm.current.qmp.execute('cont');
    vm.runState = 'running';
    return { pauseKind: 'vm-blackout', mechanism: 'qemu-stop', tookMs: monotonicMs() - started };
  }

  async inPlaceUpdate(handle: VmHandle, options: InPlaceUpdateOptions = {}): Promise<InPlaceUpdateResult> {
    const vm = this.#vm(handle);
    if (vm.runState !== 'running') throw new HypervisorError('VmNotRunning', { vmId: vm.vmId, state: vm.runState });
    const prelaunch = options.prelaunch ?? true;
    const old = vm.current;
    const number = old.number + 1;
    const t0 = monotonicMs();
    let next = prelaunch ? await this.#prepareIncoming(vm, number) : null;
    const prelaunchMs = monotonicMs() - t0;

    const pauseStart = monotonicMs();
    await old.qmp.execute('stop');
    vm.runState = 'paused';
    const stopped = monotonicMs();
    let worked = stopped;
    try {
      await options.hostWork?.(); // inside the try: a failed host update must not leave the guest stopped
      worked = monotonicMs();
      next ??= await this.#prepareIncoming(vm, number);
      await old.qmp.execute('migrate', { uri: `unix:${migratePath(vm.layout, number)}` });
      const done = await next.qmp.waitEvent('MIGRATION', (d) => d['status'] === 'completed' || d['status'] === 'failed', MONITOR_TIMEOUT_MS);
      if (done.data['status'] !== 'completed') throw new HypervisorError('InPlaceUpdateFailed', { vmId: vm.vmId, reason: 'migration failed' });
    } catch (error) {
      await this.#rollBack(vm, old, next);
      throw error instanceof HypervisorError && error.code === 'InPlaceUpdateFailed'
        ? error
        : new HypervisorError('InPlaceUpdateFailed', { vmId: vm.vmId, reason: String(error) });
    }
    const handedOver = monotonicMs();
    await next.qmp.execute('cont');
    const pauseEnd = monotonicMs();

    vm.current = next;
    vm.runState = 'running';
    const transferredBytes = await this.#retire(vm, old);
    return {
      vmId: vm.vmId, pauseKind: 'vm-blackout', mode: prelaunch ? 'prelaunch' : 'cold',
      pauseMs: pauseEnd - pauseStart, stopMs: stopped - pauseStart, hostWorkMs: worked - stopped,
      handoverMs: handedOver - worked, resumeMs: pauseEnd - handedOver, prelaunchMs,
      pidBefore: old.child.pid ?? -1, pidAfter: next.child.pid ?? -1, transferredBytes,
    };
  }

  async measureClock(handle: VmHandle): Promise<ClockMeasurement | null> {
    return (await this.guestAgent(handle)).measureClock();
  }

  /**
   * qemu-ga sync: set to host time + half the round trip, measure the residual (median of 5),
   * set again corrected by it. Measured here: the guest clock holds steady after a set (no drift
   * over seconds), but where a set lands varies by a few ms from one guest-set-time to the next,
   * so the corrective step repeats until the residual is within CLOCK_TOLERANCE_MS (at most
   * CLOCK_STEPS_MAX sets). `steps` reports how many it took; `afterMs` is a fresh median of 5.
   */
  async syncClock(handle: VmHandle): Promise<ClockSyncResult> {
    const qga = await this.guestAgent(handle);
    const started = monotonicMs();
    const before = await qga.measureClock();
    let correctionMs = 0;
    let residual = before;
    let steps = 0;
    do {
      await qga.setClock(residual.rttMs / 2, correctionMs);
      steps++;
      residual = await qga.measureClock();
      correctionMs -= residual.offsetMs;
    } while (Math.abs(residual.offsetMs) > CLOCK_TOLERANCE_MS && steps < CLOCK_STEPS_MAX);
    return {
      kind: 'synced', method: 'qemu-ga', beforeMs: before.offsetMs, afterMs: residual.offsetMs, steps,
      rttMs: residual.rttMs, tookMs: monotonicMs() - started,
    };
  }

  /** The guest agent of the VM's current QEMU (reconnected after every update); waits until it answers. */
  async guestAgent(handle: VmHandle, timeoutMs = 60_000): Promise<QgaClient> {
    const vm = this.#vm(handle);
    if (vm.qga === null) {
      const qga = await QgaClient.connect(qgaPath(vm.layout, vm.current.number), this.#options.clock, MONITOR_TIMEOUT_MS);
      await qga.waitReady(timeoutMs);
      vm.qga = qga;
    }
    return vm.qga;
  }

  async stop(handle: VmHandle): Promise<void> {
    const vm = this.#vm(handle);
    vm.qga?.close();
    vm.qga = null;
    await this.#terminate(vm.current);
    vm.runState = 'stopped';
  }

  async destroy(handle: VmHandle): Promise<void> {
    const vm = this.#vm(handle);
    await this.stop(vm);
    rmSync(vm.layout.memPath, { force: true });
    rmSync(vm.layout.runDir, { recursive: true, force: true });
  }

  #vm(handle: VmHandle): QemuVm {
    if (!(handle instanceof QemuVm)) throw new HypervisorError('VmNotRunning', { vmId: handle.vmId, reason: 'not a qemu VM' });
    return handle;
  }

  /** A QEMU waiting for the incoming handover, listening on the generation's migration socket. */
  async #prepareIncoming(vm: QemuVm, number: number): Promise<Generation> {
    const next = await this.#launch(vm.spec, vm.kernel, vm.layout, number, true);
    await next.qmp.execute('migrate-incoming', { uri: `unix:${migratePath(vm.layout, number)}` });
    return next;
  }

  async #launch(spec: VmSpec, kernel: KernelBoot, layout: QemuLayout, number: number, incoming: boolean): Promise<Generation> {
    for (const stale of [qmpPath(layout, number), qgaPath(layout, number), migratePath(layout, number)]) rmSync(stale, { force: true });
    const args = qemuArgs({ spec, kernel, layout, generation: number, incoming, accel: this.#options.accel });
    const stderrFd = openSync(path.join(layout.runDir, `qemu-${number}.stderr`), 'w');
    const child = spawn(this.#options.qemuBinary, args, { stdio: ['ignore', 'ignore', stderrFd], detached: true });
    closeSync(stderrFd);
    child.unref();
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.on('error', () => resolve(-1));
    });
    const died = exited.then((code) => {
      throw new HypervisorError('VmStartFailed', { vmId: spec.vmId, reason: `qemu exited with ${code}; see qemu-${number}.stderr` });
    });
    const qmp = await Promise.race([QmpClient.connect(qmpPath(layout, number), MONITOR_TIMEOUT_MS), died]);
    died.catch(() => undefined);
    await qmp.execute('migrate-set-capabilities', { capabilities: CAPABILITIES });
    return { number, child, exited, qmp };
  }

  async #rollBack(vm: QemuVm, old: Generation, next: Generation | null): Promise<void> {
    if (next) await this.#terminate(next);
    await old.qmp.execute('cont');
    vm.runState = 'running';
  }

  /** Ends the old QEMU after the handover; returns how many bytes the migration moved. */
  async #retire(vm: QemuVm, old: Generation): Promise<number> {
    vm.qga?.close();
    vm.qga = null;
    const info = await old.qmp.execute<{ ram?: { transferred?: number } }>('query-migrate').catch(() => ({ ram: undefined }));
    await this.#terminate(old);
    rmSync(qmpPath(vm.layout, old.number), { force: true });
    rmSync(qgaPath(vm.layout, old.number), { force: true });
    return info.ram?.transferred ?? 0;
  }

  async #terminate(generation: Generation): Promise<void> {
    if (generation.child.exitCode !== null || generation.child.signalCode !== null) return;
    await generation.qmp.execute('quit', undefined, 2000).catch(() => undefined);
    generation.qmp.close();
    await withTimeout(generation.exited, 5000, () => new Error('quit timed out')).catch(() => {
      generation.child.kill('SIGKILL');
      return generation.exited;
    });
  }
}
