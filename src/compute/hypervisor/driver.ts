// The hypervisor driver contract: how a host runs, pauses and hands over what it hosts.
//
// Two drivers implement it, and each says honestly what it is through `capabilities`:
//   qemu     real VMs under QEMU (TCG here). Guest RAM lives in a shared file under /dev/shm,
//            so an in-place update hands the running guest to a new QEMU process without copying
//            memory (QEMU's cpr-reboot recipe; see shared/spec/compute-notes.md §1 and §5).
//   process  a workload process frozen and thawed (cgroup v2 freeze > v1 freezer > SIGSTOP). It
//            is a "process-backed instance", not a VM: no guest kernel, no isolation, and its
//            pauses are never reported as VM blackouts (`pauseKind: 'process-freeze'`).
//
// Every operation returns what really happened, with timings measured on the monotonic clock.
// Nothing is simulated silently: a driver that cannot do something says so in its capabilities
// or throws HypervisorError.

export type DriverKind = 'qemu' | 'process';

export interface Capabilities {
  readonly isolation: 'vm' | 'none';
  /** True when guest memory stays in place while the hosting process is replaced. */
  readonly memoryPreservingUpdate: boolean;
  /** How the guest clock is corrected after a pause; 'host-clock' means it never lags. */
  readonly clockSync: 'qemu-ga' | 'host-clock';
  /** 'nbd': disks in VmSpec are attached as virtio-blk drives; 'not-supported': recorded, never attached. */
  readonly disks: 'nbd' | 'not-supported';
  readonly imds: 'guestfwd' | 'none';
  /** How a pause is done: QEMU `stop`, or the process freezer actually in use on this host. */
  readonly pauseMechanism: 'qemu-stop' | 'cgroup2-freeze' | 'cgroup1-freezer' | 'sigstop';
}

/** Where an NBD export is served: the unix socket in the data dir (preferred) or TCP. */
export type NbdServerAddress =
  | { readonly type: 'unix'; readonly path: string }
  | { readonly type: 'tcp'; readonly host: string; readonly port: number };

/**
 * A disk attached over NBD. `nbdUrl` says the same as server + exportName, for logs and tools
 * (`nbd+unix:///<export>?socket=<path>` or `nbd://host:port/<export>`).
 */
export interface DiskAttachment {
  /** The managed disk's resource id (what the VM's storageProfile names). */
  readonly name: string;
  readonly server: NbdServerAddress;
  readonly exportName: string;
  readonly nbdUrl: string;
}

export function nbdUrlOf(server: NbdServerAddress, exportName: string): string {
  return server.type === 'unix'
    ? `nbd+unix:///${exportName}?socket=${server.path}`
    : `nbd://${server.host}:${server.port}/${exportName}`;
}

export type BootSource =
  | { readonly kind: 'kernel'; readonly kernelPath: string; readonly initrdPath: string; readonly cmdline?: string }
  | { readonly kind: 'command'; readonly command: string; readonly args: readonly string[] };

export interface VmSpec {
  readonly vmId: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly boot: BootSource;
  readonly disks: readonly DiskAttachment[];
  /** Loopback port the VM's IMDS traffic (169.254.169.254:80 in the guest) is forwarded to; absent = no IMDS. */
  readonly imdsPort?: number;
}

export type VmRunState = 'running' | 'paused' | 'stopped';

/** What a driver hands back for a VM it runs. Opaque beyond these fields; pass it back to the driver. */
export interface VmHandle {
  readonly vmId: string;
  readonly spec: VmSpec;
  readonly driver: DriverKind;
  /** Process id of whatever hosts the VM now (QEMU, or the workload); changes on in-place update for qemu. */
  readonly pid: () => number;
  /** Bumped by every in-place update: how many hosting processes this VM has had, minus one. */
  readonly generation: () => number;
  readonly state: () => VmRunState;
  /** Files the VM writes (serial console, heartbeat); absent for a driver that has none. */
  readonly logs: { readonly consolePath?: string; readonly heartbeatPath?: string };
}

export interface CreateResult {
  readonly vm: VmHandle;
  /** From spawn to the VM running (for qemu: `cont` answered, not guest boot finished). */
  readonly startMs: number;
}

export interface PauseResult {
  readonly pauseKind: 'vm-blackout' | 'process-freeze';
  readonly mechanism: Capabilities['pauseMechanism'];
  readonly tookMs: number;
}

export interface InPlaceUpdateOptions {
  /** The host update itself, run while the VM is paused (e.g. swapping a binary). Default: nothing. */
  readonly hostWork?: () => Promise<void>;
  /**
   * qemu only: start the replacement process before pausing (QEMU 10 calls this cpr-transfer) so
   * the pause holds no process start. Default true; false measures the cold path.
   */
  readonly prelaunch?: boolean;
}

export interface InPlaceUpdateResult {
  readonly vmId: string;
  readonly pauseKind: 'vm-blackout' | 'process-freeze';
  readonly mode: 'prelaunch' | 'cold' | 'freeze-thaw';
  /** The whole time the VM made no progress: from pause issued to resume answered. */
  readonly pauseMs: number;
  /** Parts of the pause (sum <= pauseMs): stopping, host work, handing over device state, resuming. */
  readonly stopMs: number;
  readonly hostWorkMs: number;
  readonly handoverMs: number;
  readonly resumeMs: number;
  /** Outside the pause: starting the replacement process ahead of time (prelaunch), reaping the old one. */
  readonly prelaunchMs: number;
  readonly pidBefore: number;
  readonly pidAfter: number;
  /** Device-state bytes the handover moved (RAM itself is shared and not copied); 0 where not applicable. */
  readonly transferredBytes: number;
}

/** Guest clock minus host clock, measured as the median of several round trips. */
export interface ClockMeasurement {
  readonly offsetMs: number;
  readonly rttMs: number;
  readonly samples: number;
}

export type ClockSyncResult =
  | {
      readonly kind: 'synced';
      readonly method: 'qemu-ga';
      readonly beforeMs: number;
      readonly afterMs: number;
      readonly steps: number;
      readonly rttMs: number;
      readonly tookMs: number;
    }
  /** The instance reads the host's clocks directly: there is no separate clock to be wrong. */
  | { readonly kind: 'not-applicable'; readonly reason: string };

export interface HypervisorDriver {
  readonly kind: DriverKind;
  readonly capabilities: Capabilities;
  /** Creates the VM and starts it running. */
  create(spec: VmSpec): Promise<CreateResult>;
  pause(vm: VmHandle): Promise<PauseResult>;
  resume(vm: VmHandle): Promise<PauseResult>;
  /** Pause, update the host (for qemu: a new hosting process with memory kept), resume. */
  inPlaceUpdate(vm: VmHandle, options?: InPlaceUpdateOptions): Promise<InPlaceUpdateResult>;
  measureClock(vm: VmHandle): Promise<ClockMeasurement | null>;
  syncClock(vm: VmHandle): Promise<ClockSyncResult>;
  /** Stops the VM (process exits); its memory file, if any, stays until destroy. */
  stop(vm: VmHandle): Promise<void>;
  /** Stops if needed and removes everything the VM had on the host (memory file, sockets, logs dir). */
  destroy(vm: VmHandle): Promise<void>;
}
