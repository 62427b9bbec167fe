// createCompute: builds the compute services and the IMDS listener from plain dependencies, for
// src/main.ts (one call) and for tests. Nothing global: everything hangs off the returned object.
//
//   ComputeService ◄── ARM adapter (later): availability sets, VMs, instance view
//        ▲   ▲
//        │   └── MaintenanceOrchestrator ◄── operator API / `nimbus maintenance` (later); stepped by a timer
//        │            │ publishes / starts / removes
//   ImdsServer ──► ScheduledEventStore ◄── approvals (POST StartRequests)
//   (main port + one port per running VM)
//
// Hosts: default two `process` hosts on two racks, which needs nothing installed. A machine with
// QEMU passes `hosts` with driver 'qemu' (the guest image is built by scripts/build-guest-image.sh
// on first use; see hypervisor/qemu/guest-image.ts).
import path from 'node:path';
import type { Clock } from '../platform/clock.js';
import { every } from '../platform/clock.js';
import type { Logger } from '../platform/log.js';
import type { MetaStore } from '../engine/meta/meta-store.js';
import type { BootSource, HypervisorDriver } from './hypervisor/driver.js';
import { ProcessDriver } from './hypervisor/process/driver.js';
import { QemuDriver } from './hypervisor/qemu/driver.js';
import { defaultGuestDir, ensureGuestImage } from './hypervisor/qemu/guest-image.js';
import { ScheduledEventStore } from './events/event-store.js';
import { ImdsServer } from './imds/server.js';
import { MaintenanceOrchestrator } from './maintenance/orchestrator.js';
import type { HostWork } from './maintenance/update-vm.js';
import { ComputeService, type VmDiskPort } from './service/compute-service.js';
import { resourceKey, type HostConfig, type VmRecord } from './service/model.js';

export interface ComputeDeps {
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Persists definitions (availability sets, VMs); null keeps them in memory only. */
  readonly meta: MetaStore | null;
  /** Address the IMDS listeners bind (config.host). */
  readonly host: string;
  /** The shared IMDS port (config.imdsPort; 0 = any free port). */
  readonly imdsPort: number;
  /** Where drivers keep per-VM folders (sockets, logs), e.g. <dataDir>/compute. */
  readonly runDir: string;
  readonly hosts?: readonly HostConfig[];
  /** Override the driver per host (tests); default one ProcessDriver / QemuDriver per host. */
  readonly driverFor?: (host: HostConfig) => HypervisorDriver;
  /** qemu guests: the guest image folder (default: NIMBUS_GUEST_DIR or .nimbus-cache/guest). */
  readonly guestImageDir?: string;
  /** qemu guests: MiB of random bytes the test guest keeps in RAM and checksums. Default 16. */
  readonly guestMemoryRegionMiB?: number;
  readonly hostWork?: HostWork;
  /** Managed OS disks (src/disks/service/vm-disks.ts); without it VMs cannot have an OS disk. */
  readonly disks?: VmDiskPort;
  /** How often the maintenance timer steps; null = no timer (tests call runDue). Default 1000. */
  readonly tickIntervalMs?: number | null;
}

export interface Compute {
  readonly service: ComputeService;
  readonly maintenance: MaintenanceOrchestrator;
  readonly events: ScheduledEventStore;
  readonly imds: ImdsServer;
  readonly imdsPort: number;
  /** Steps maintenance at the clock's time and waits for the work it starts (tests, `runDue`). */
  runDue(): Promise<void>;
  /** Stops the timer, every running VM, and the IMDS listeners. Definitions stay persisted. */
  stop(): Promise<void>;
}

export const DEFAULT_HOSTS: readonly HostConfig[] = [
  { name: 'host-0', driver: 'process', memoryMiB: 16_384, rack: 0 },
  { name: 'host-1', driver: 'process', memoryMiB: 16_384, rack: 1 },
];

/** A process-backed instance's workload: a heartbeat ("hb N 0" every 100 ms) the maintenance probe reads. */
export const HEARTBEAT_WORKLOAD = 'i=0; while :; do i=$((i+1)); echo "hb $i 0"; sleep 0.1; done';

export async function createCompute(deps: ComputeDeps): Promise<Compute> {
  const hosts = deps.hosts ?? DEFAULT_HOSTS;
  const events = new ScheduledEventStore();
  const drivers = new Map<string, HypervisorDriver>();
  const driverFor = deps.driverFor ?? ((host: HostConfig): HypervisorDriver => {
    const existing = drivers.get(host.name);
    if (existing) return existing;
    const runDir = path.join(deps.runDir, host.name);
    const driver = host.driver === 'qemu' ? new QemuDriver({ clock: deps.clock, runDir }) : new ProcessDriver({ runDir });
    drivers.set(host.name, driver);
    return driver;
  });
  const bootFor = (vm: VmRecord, host: HostConfig, imdsPort: number | null): Promise<BootSource> =>
    host.driver === 'qemu' ? qemuBoot(vm, deps) : Promise.resolve(processBoot(vm, deps.host, imdsPort));

  // The IMDS server and the service refer to each other (ports are opened per VM start; IMDS looks
  // VMs up): the server gets lookups that read `service` once it exists.
  let service: ComputeService | null = null;
  const imds = new ImdsServer({
    clock: deps.clock, host: deps.host, events, ...(deps.logger ? { logger: deps.logger } : {}),
    vmByKey: (key) => {
      const vm = service?.vmByKey(key);
      return vm && service ? { key, vm, eventScope: service.eventScopeOf(vm) } : undefined;
    },
    vmsNamed: (name) => (service?.listVms() ?? [])
      .filter((vm) => vm.name.toLowerCase() === name.toLowerCase() || resourceKey(vm) === name.toLowerCase())
      .map((vm) => resourceKey(vm)),
  });
  const imdsPort = await imds.listen(deps.imdsPort);
  const opened = await ComputeService.open({
    clock: deps.clock, meta: deps.meta, hosts, driverFor, bootFor, imdsPorts: imds, disks: deps.disks ?? null,
  })
    .catch(async (error: unknown) => {
      await imds.stop();
      throw error;
    });
  service = opened;
  const maintenance = new MaintenanceOrchestrator({
    clock: deps.clock, compute: opened, events,
    ...(deps.hostWork ? { hostWork: deps.hostWork } : {}), ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const tick = () => void maintenance.step(deps.clock.nowMs());
  events.onApproval(tick); // an approval may let a domain start now, not at the next tick
  const interval = deps.tickIntervalMs === undefined ? 1000 : deps.tickIntervalMs;
  const stopTimer = interval === null ? () => undefined : every(interval, tick);

  return {
    service: opened, maintenance, events, imds, imdsPort,
    runDue: () => maintenance.runDue(),
    async stop() {
      stopTimer();
      await maintenance.settle();
      await opened.shutdownAll();
      await imds.stop();
    },
  };
}

function processBoot(vm: VmRecord, listenHost: string, imdsPort: number | null): BootSource {
  // A process has no 169.254.169.254; it is told its own per-VM IMDS endpoint instead.
  const env = [`NIMBUS_VM_NAME=${vm.name}`, ...(imdsPort === null ? [] : [`NIMBUS_IMDS_ENDPOINT=http://${listenHost}:${imdsPort}`])];
  return { kind: 'command', command: 'env', args: [...env, 'sh', '-c', HEARTBEAT_WORKLOAD] };
}

async function qemuBoot(vm: VmRecord, deps: ComputeDeps): Promise<BootSource> {
  const image = await ensureGuestImage(deps.guestImageDir ?? defaultGuestDir());
  // The driver puts nimbus.vm=<vmId> first; the guest init takes the LAST nimbus.vm= (greedy sed),
  // so this one makes the guest call itself by its VM name, which is what Resources lists.
  return {
    kind: 'kernel', kernelPath: image.kernelPath, initrdPath: image.initrdPath,
    cmdline: `nimbus.vm=${vm.name} nimbus.mem_mib=${deps.guestMemoryRegionMiB ?? 16}`,
  };
}
