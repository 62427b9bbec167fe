// ProcessDriver: a "process-backed instance" for machines without QEMU. NOT a VM: no guest
// kernel, no isolation (capabilities.isolation = 'none'), no NBD disks (a VM's OS disk is recorded
// in its spec and stays attached to it in the disk service, but nothing reads or writes it:
// capabilities.disks = 'not-supported'), no 169.254 IMDS. Its
// pauses are freezes of a host process and are reported as pauseKind 'process-freeze', never as
// VM blackouts (shared/spec/compute-notes.md §4).
//
// The workload runs detached in its own process group (and cgroup where the host allows), so it
// does not depend on this Node process. An in-place update freezes it, runs the host work (the
// stand-in for replacing host software), and thaws it: the same process, still resident, keeps
// its memory. Its clocks are the host's, so there is no clock to sync: syncClock says
// 'not-applicable' instead of reporting a fake 0 ms.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync } from 'node:fs';
import path from 'node:path';
import { monotonicMs, withTimeout } from '../../../platform/clock.js';
import { HypervisorError } from '../errors.js';
import type {
  Capabilities, ClockMeasurement, ClockSyncResult, CreateResult, HypervisorDriver, InPlaceUpdateOptions,
  InPlaceUpdateResult, PauseResult, VmHandle, VmRunState, VmSpec,
} from '../driver.js';
import { detectFreezer, type Freezer, type FrozenGroup } from './freezer.js';

export interface ProcessDriverOptions {
  /** Where each instance gets a folder for its output log. */
  readonly runDir: string;
  /** Defaults to the best mechanism this host offers (detectFreezer). */
  readonly freezer?: Freezer;
}

class ProcessInstance implements VmHandle {
  readonly driver = 'process' as const;
  runState: VmRunState = 'running';
  constructor(
    readonly spec: VmSpec,
    readonly child: ChildProcess,
    readonly exited: Promise<void>,
    readonly group: FrozenGroup,
    readonly runDir: string,
  ) {}
  get vmId(): string {
    return this.spec.vmId;
  }
  get logs(): { consolePath: string } {
    return { consolePath: path.join(this.runDir, 'output.log') };
  }
  readonly pid = (): number => this.child.pid ?? -1;
  readonly generation = (): number => 0;
  readonly state = (): VmRunState => this.runState;
}

export class ProcessDriver implements HypervisorDriver {
  readonly kind = 'process' as const;
  readonly capabilities: Capabilities;
  readonly #runDir: string;
  readonly #freezer: Freezer;

  constructor(options: ProcessDriverOptions) {
    this.#runDir = options.runDir;
    this.#freezer = options.freezer ?? detectFreezer();
    this.capabilities = {
      isolation: 'none', memoryPreservingUpdate: true, clockSync: 'host-clock', disks: 'not-supported', imds: 'none',
      pauseMechanism: this.#freezer.mechanism,
    };
  }

  async create(spec: VmSpec): Promise<CreateResult> {
    if (spec.boot.kind !== 'command') throw new HypervisorError('VmStartFailed', { vmId: spec.vmId, reason: 'process runs a command, not a kernel' });
    const started = monotonicMs();
    const runDir = path.join(this.#runDir, spec.vmId);
    mkdirSync(runDir, { recursive: true });
    const out = openSync(path.join(runDir, 'output.log'), 'a');
    const child = spawn(spec.boot.command, [...spec.boot.args], { stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    child.unref();
    const exited = new Promise<void>((resolve) => {
      child.on('exit', () => resolve());
      child.on('error', () => resolve());
    });
    if (child.pid === undefined) throw new HypervisorError('VmStartFailed', { vmId: spec.vmId, reason: `cannot spawn ${spec.boot.command}` });
    const group = this.#freezer.adopt(spec.vmId, child.pid);
    const instance = new ProcessInstance(spec, child, exited, group, runDir);
    return { vm: instance, startMs: monotonicMs() - started };
  }

  async pause(handle: VmHandle): Promise<PauseResult> {
    const instance = this.#instance(handle);
    const started = monotonicMs();
    await instance.group.freeze();
    instance.runState = 'paused';
    return { pauseKind: 'process-freeze', mechanism: this.#freezer.mechanism, tookMs: monotonicMs() - started };
  }

  async resume(handle: VmHandle): Promise<PauseResult> {
    const instance = this.#instance(handle);
    const started = monotonicMs();
    await instance.group.thaw();
    instance.runState = 'running';
    return { pauseKind: 'process-freeze', mechanism: this.#freezer.mechanism, tookMs: monotonicMs() - started };
  }

  async inPlaceUpdate(handle: VmHandle, options: InPlaceUpdateOptions = {}): Promise<InPlaceUpdateResult> {
    const instance = this.#instance(handle);
    if (instance.runState !== 'running') throw new HypervisorError('VmNotRunning', { vmId: instance.vmId, state: instance.runState });
    const pid = instance.pid();
    const pauseStart = monotonicMs();
    await this.pause(instance);
    const stopped = monotonicMs();
    let worked = stopped;
    try {
      await options.hostWork?.();
    } finally {
      worked = monotonicMs();
      await this.resume(instance); // a failed host update must not leave the workload frozen
    }
    const pauseEnd = monotonicMs();
    return {
      vmId: instance.vmId, pauseKind: 'process-freeze', mode: 'freeze-thaw',
      pauseMs: pauseEnd - pauseStart, stopMs: stopped - pauseStart, hostWorkMs: worked - stopped,
      handoverMs: 0, resumeMs: pauseEnd - worked, prelaunchMs: 0,
      pidBefore: pid, pidAfter: instance.pid(), transferredBytes: 0,
    };
  }

  async measureClock(_vm: VmHandle): Promise<ClockMeasurement | null> {
    return null;
  }

  async syncClock(_vm: VmHandle): Promise<ClockSyncResult> {
    return { kind: 'not-applicable', reason: 'a process-backed instance reads the host clock; it cannot lag' };
  }

  async stop(handle: VmHandle): Promise<void> {
    const instance = this.#instance(handle);
    if (instance.child.exitCode === null && instance.child.signalCode === null) {
      if (instance.runState === 'paused') await instance.group.thaw();
      process.kill(-instance.pid(), 'SIGTERM');
      await withTimeout(instance.exited, 3000, () => new Error('no exit')).catch(() => {
        process.kill(-instance.pid(), 'SIGKILL');
        return instance.exited;
      });
    }
    instance.group.release();
    instance.runState = 'stopped';
  }

  async destroy(handle: VmHandle): Promise<void> {
    const instance = this.#instance(handle);
    await this.stop(instance);
    rmSync(instance.runDir, { recursive: true, force: true });
  }

  #instance(handle: VmHandle): ProcessInstance {
    if (!(handle instanceof ProcessInstance)) throw new HypervisorError('VmNotRunning', { vmId: handle.vmId, reason: 'not a process instance' });
    return handle;
  }
}
