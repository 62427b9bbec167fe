// ComputeService: hosts, availability sets and virtual machines; the API the ARM adapter
// (Microsoft.Compute) and the maintenance orchestrator call. No HTTP here.
//
// Owns:
//   - definitions (persisted, service/definitions.ts) and placement (service/placement.ts)
//   - the runtime: which hosting process (a driver's VmHandle) runs each running VM, and its
//     per-VM IMDS port (opened before the VM boots, because QEMU's guestfwd names it on the
//     command line; closed when the VM stops)
//   - the maintenance lock: while a campaign updates a VM, start/stop/delete are refused
//     (VmUnderMaintenance) instead of racing the handover
//   - OS disks: a VM created with `osDiskId` holds that managed disk attached (VmDiskPort, the disk
//     service) from creation to delete, released while deallocated and taken again by start; the
//     attachment (an NBD export) is passed to the driver in VmSpec.disks. Attachments live in
//     memory like the disk service's, so open() takes them again for every allocated VM.
//
// Invariants:
//   - a VM is `running` iff the runtime map holds its handle (after start resolved, before stop)
//   - a VM with host = null is deallocated; every other VM counts against its host's memory
//   - update and fault domains are fixed at creation and kept across deallocate/start
import type { Clock } from '../../platform/clock.js';
import { newGuid } from '../../platform/ids.js';
import type { MetaStore } from '../../engine/meta/meta-store.js';
import type { BootSource, DiskAttachment, HypervisorDriver, VmHandle, VmSpec } from '../hypervisor/driver.js';
import { ComputeError } from '../errors.js';
import { ComputeDefinitions, type DefinitionsDraft } from './definitions.js';
import {
  VM_SIZES, powerStatus, resourceKey,
  type AvailabilitySetRecord, type HostConfig, type OsDiskView, type PowerState, type ResourceRef, type VmInstanceView, type VmRecord,
} from './model.js';
import { chooseDomains, chooseHost, type HostLoad } from './placement.js';

/** Opens and closes the per-VM IMDS listener (the IMDS adapter implements it). */
export interface VmPortRegistry {
  open(vmKey: string): Promise<number>;
  close(vmKey: string): Promise<void>;
}

/**
 * Managed disks as compute needs them (the disk service implements it: src/disks/service/vm-disks.ts).
 * attach throws the disk service's own errors (404 no such disk, 409 attached elsewhere/exported).
 */
export interface VmDiskPort {
  /** Attaches the disk (a resource id) to the VM for writing; idempotent for the same VM. */
  attach(diskId: string, vm: ResourceRef): DiskAttachment;
  detach(diskId: string, vm: ResourceRef): void;
}

export interface ComputeServiceDeps {
  readonly clock: Clock;
  readonly meta: MetaStore | null;
  readonly hosts: readonly HostConfig[];
  /** The driver that runs VMs on `host` (one per host, or shared; the service does not care). */
  readonly driverFor: (host: HostConfig) => HypervisorDriver;
  /** What the VM boots: a kernel for qemu, a command for process. */
  readonly bootFor: (vm: VmRecord, host: HostConfig, imdsPort: number | null) => Promise<BootSource>;
  readonly imdsPorts: VmPortRegistry | null;
  /** Managed OS disks; without it a VM with an OS disk cannot be created. */
  readonly disks?: VmDiskPort | null;
}

export interface CreateAvailabilitySetInput extends ResourceRef {
  readonly location: string;
  /** 1-20; Azure's default is 5. */
  readonly platformUpdateDomainCount?: number;
  /** 1-3; default 2. */
  readonly platformFaultDomainCount?: number;
  readonly sku?: 'Aligned' | 'Classic';
  readonly tags?: Record<string, string>;
}

export interface CreateVmInput extends ResourceRef {
  readonly location: string;
  readonly vmSize: string;
  /** Nimbus extension: memory other than the size's (small test guests). */
  readonly memoryMiB?: number;
  readonly availabilitySet?: string | null;
  readonly tags?: Record<string, string>;
  /** Default true, as ARM does: a created VM is started. */
  readonly start?: boolean;
  /** Resource id of a managed disk to attach as the OS disk (ARM: storageProfile.osDisk.managedDisk.id). */
  readonly osDiskId?: string | null;
}

export interface VmRuntime {
  readonly handle: VmHandle;
  readonly driver: HypervisorDriver;
  readonly host: HostConfig;
  readonly imdsPort: number | null;
}

export interface HostView extends HostConfig {
  readonly allocatedMiB: number;
  readonly vms: readonly string[];
}

export class ComputeService {
  readonly #deps: ComputeServiceDeps;
  readonly #defs: ComputeDefinitions;
  readonly #runtime = new Map<string, VmRuntime>();
  readonly #locked = new Set<string>();
  /** VM key → its OS disk's attachment, while the disk service holds the disk for it. */
  readonly #osDisks = new Map<string, DiskAttachment>();

  private constructor(deps: ComputeServiceDeps, defs: ComputeDefinitions) {
    this.#deps = deps;
    this.#defs = defs;
  }

  static async open(deps: ComputeServiceDeps): Promise<ComputeService> {
    if (new Set(deps.hosts.map((h) => h.name)).size !== deps.hosts.length) throw new Error('compute: host names must be unique');
    const service = new ComputeService(deps, await ComputeDefinitions.open(deps.meta));
    // Attachments do not outlive the process: take them again for every allocated VM (best effort;
    // a disk taken meanwhile makes that VM's next start fail with the disk service's error).
    for (const [key, vm] of service.#defs.current.vms) {
      if (vm.osDiskId && vm.host !== null) {
        try {
          service.#attachDisk(key, vm);
        } catch {
          // left detached; start reports why
        }
      }
    }
    return service;
  }

  // ---- hosts ----

  listHosts(): HostView[] {
    const vms = [...this.#defs.current.vms.values()];
    return this.#deps.hosts.map((host) => {
      const on = vms.filter((vm) => vm.host === host.name);
      return { ...host, allocatedMiB: on.reduce((sum, vm) => sum + vm.memoryMiB, 0), vms: on.map((vm) => vm.name) };
    });
  }

  host(name: string): HostConfig {
    return this.#deps.hosts.find((h) => h.name === name) ?? fail('ResourceNotFound', { host: name });
  }

  // ---- availability sets ----

  async createAvailabilitySet(input: CreateAvailabilitySetInput): Promise<AvailabilitySetRecord> {
    const record: AvailabilitySetRecord = {
      subscriptionId: input.subscriptionId, resourceGroup: input.resourceGroup, name: input.name, location: input.location,
      platformUpdateDomainCount: input.platformUpdateDomainCount ?? 5,
      platformFaultDomainCount: input.platformFaultDomainCount ?? 2,
      sku: input.sku ?? 'Aligned', tags: { ...input.tags },
    };
    if (!inRange(record.platformUpdateDomainCount, 1, 20)) fail('InvalidParameter', { platformUpdateDomainCount: String(record.platformUpdateDomainCount) });
    if (!inRange(record.platformFaultDomainCount, 1, 3)) fail('InvalidParameter', { platformFaultDomainCount: String(record.platformFaultDomainCount) });
    return this.#defs.mutate((draft) => {
      const key = resourceKey(input);
      if (draft.availabilitySets.has(key)) fail('ResourceExists', { availabilitySet: input.name });
      draft.availabilitySets.set(key, record);
      return record;
    });
  }

  getAvailabilitySet(ref: ResourceRef): AvailabilitySetRecord {
    return this.#defs.current.availabilitySets.get(resourceKey(ref)) ?? fail('ResourceNotFound', { availabilitySet: ref.name });
  }

  listAvailabilitySets(subscriptionId: string, resourceGroup?: string): AvailabilitySetRecord[] {
    return [...this.#defs.current.availabilitySets.values()].filter((set) => inScope(set, subscriptionId, resourceGroup));
  }

  /** The VMs of a set (ARM shows them as `properties.virtualMachines`). */
  setMembers(ref: ResourceRef): VmRecord[] {
    const set = this.getAvailabilitySet(ref);
    return [...this.#defs.current.vms.values()].filter((vm) => memberOf(vm, set));
  }

  async deleteAvailabilitySet(ref: ResourceRef): Promise<void> {
    await this.#defs.mutate((draft) => {
      const set = draft.availabilitySets.get(resourceKey(ref)) ?? fail('ResourceNotFound', { availabilitySet: ref.name });
      if ([...draft.vms.values()].some((vm) => memberOf(vm, set))) fail('AvailabilitySetInUse', { availabilitySet: ref.name });
      draft.availabilitySets.delete(resourceKey(ref));
    });
  }

  // ---- virtual machines ----

  async createVm(input: CreateVmInput): Promise<VmRecord> {
    const size = VM_SIZES[input.vmSize] ?? fail('InvalidParameter', { vmSize: input.vmSize });
    const memoryMiB = input.memoryMiB ?? size.memoryMiB;
    if (!inRange(memoryMiB, 16, 1 << 20)) fail('InvalidParameter', { memoryMiB: String(memoryMiB) });
    const key = resourceKey(input);
    if (this.#defs.current.vms.has(key)) fail('ResourceExists', { vm: input.name });
    const osDiskId = input.osDiskId ?? null;
    const attachedHere = osDiskId !== null && !this.#osDisks.has(key); // (a racing create of the same name may hold it)
    if (osDiskId !== null) this.#attachDisk(key, { ...input, osDiskId });
    const record = await this.#defs.mutate((draft) => {
      if (draft.vms.has(key)) fail('ResourceExists', { vm: input.name });
      const set = input.availabilitySet ? this.#setIn(draft, input, input.availabilitySet) : null;
      const members = set ? [...draft.vms.values()].filter((vm) => memberOf(vm, set)) : [];
      const domains = set ? chooseDomains(members, set.platformUpdateDomainCount, set.platformFaultDomainCount) : { updateDomain: 0, faultDomain: 0 };
      const vm: VmRecord = {
        subscriptionId: input.subscriptionId, resourceGroup: input.resourceGroup, name: input.name, vmId: newGuid(),
        location: input.location, vmSize: input.vmSize, memoryMiB, cpus: size.cpus, tags: { ...input.tags },
        availabilitySet: set?.name ?? null, platformUpdateDomain: domains.updateDomain, platformFaultDomain: domains.faultDomain,
        host: null, powerState: 'deallocated', createdMs: this.#deps.clock.nowMs(), stopReason: null, osDiskId,
      };
      const placed = { ...vm, host: this.#place(draft, vm).name, powerState: 'stopped' as const };
      draft.vms.set(key, placed);
      return placed;
    }).catch((error: unknown) => {
      if (attachedHere) this.#detachDisk(key, { ...input, osDiskId });
      throw error;
    });
    return input.start === false ? record : this.startVm(input);
  }

  getVm(ref: ResourceRef): VmRecord {
    return this.#defs.current.vms.get(resourceKey(ref)) ?? fail('ResourceNotFound', { vm: ref.name });
  }

  listVms(subscriptionId?: string, resourceGroup?: string): VmRecord[] {
    return [...this.#defs.current.vms.values()].filter((vm) => subscriptionId === undefined || inScope(vm, subscriptionId, resourceGroup));
  }

  instanceView(ref: ResourceRef): VmInstanceView {
    const vm = this.getVm(ref);
    const key = resourceKey(ref);
    const runtime = this.#runtime.get(key);
    return {
      computerName: vm.name, platformUpdateDomain: vm.platformUpdateDomain, platformFaultDomain: vm.platformFaultDomain,
      statuses: [
        { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time: new Date(vm.createdMs).toISOString() },
        powerStatus(vm.powerState),
      ],
      nimbus: {
        host: vm.host, driver: runtime?.driver.kind ?? null, isolation: runtime?.driver.capabilities.isolation ?? null,
        osDisk: vm.osDiskId ? this.#osDiskView(key, vm.osDiskId, runtime) : null,
        pid: runtime?.handle.pid() ?? null, generation: runtime?.handle.generation() ?? null,
        imdsPort: runtime?.imdsPort ?? null, underMaintenance: this.#locked.has(key),
      },
    };
  }

  /** Starts a stopped or deallocated VM (placing a deallocated one again); a running VM is left alone. */
  async startVm(ref: ResourceRef): Promise<VmRecord> {
    const key = this.#unlocked(ref);
    const vm = this.getVm(ref);
    if (vm.powerState === 'running' || vm.powerState === 'starting') return vm;
    if (vm.powerState !== 'stopped' && vm.powerState !== 'deallocated') fail('OperationNotAllowed', { vm: vm.name, powerState: vm.powerState });
    if (vm.osDiskId) this.#attachDisk(key, vm); // released by deallocate (or a restart): taken again, or the start fails here
    const starting = await this.#defs.mutate((draft) => {
      const current = draft.vms.get(key) ?? fail('ResourceNotFound', { vm: ref.name });
      const host = current.host ?? this.#place(draft, current).name;
      const next: VmRecord = { ...current, host, powerState: 'starting', stopReason: null };
      draft.vms.set(key, next);
      return next;
    });
    try {
      await this.#launch(key, starting);
    } catch (error) {
      await this.#setPower(key, 'stopped', `start failed: ${String(error)}`);
      throw error;
    }
    return this.#setPower(key, 'running', null);
  }

  /** Power off: the hosting process ends, the VM keeps its host allocation ("stopped (allocated)"). */
  async powerOffVm(ref: ResourceRef): Promise<VmRecord> {
    const key = this.#unlocked(ref);
    await this.#setPower(key, 'stopping', null);
    await this.#shutdown(key);
    return this.#setPower(key, 'stopped', null);
  }

  /** Deallocate: stopped and released from its host. */
  async deallocateVm(ref: ResourceRef): Promise<VmRecord> {
    const key = this.#unlocked(ref);
    await this.#setPower(key, 'deallocating', null);
    await this.#shutdown(key);
    const deallocated = await this.#defs.mutate((draft) => {
      const vm = draft.vms.get(key) ?? fail('ResourceNotFound', { vm: ref.name });
      const next: VmRecord = { ...vm, host: null, powerState: 'deallocated' };
      draft.vms.set(key, next);
      return next;
    });
    this.#detachDisk(key, deallocated);
    return deallocated;
  }

  async deleteVm(ref: ResourceRef): Promise<void> {
    const key = this.#unlocked(ref);
    const vm = this.getVm(ref);
    await this.#shutdown(key, 'destroy');
    await this.#defs.mutate((draft) => void draft.vms.delete(key));
    this.#detachDisk(key, vm);
  }

  /** Stops every running VM (server shutdown); definitions stay as they are. */
  async shutdownAll(): Promise<void> {
    await Promise.all([...this.#runtime.keys()].map((key) => this.#shutdown(key, 'destroy')));
  }

  // ---- for maintenance and IMDS (same layer; not for ARM) ----

  vmByKey(key: string): VmRecord | undefined {
    return this.#defs.current.vms.get(key);
  }

  availabilitySetOf(vm: VmRecord): AvailabilitySetRecord | null {
    if (vm.availabilitySet === null) return null;
    return this.#defs.current.availabilitySets.get(resourceKey({ ...vm, name: vm.availabilitySet })) ?? null;
  }

  /** The Scheduled Events document a VM reads: its availability set's, or its own. */
  eventScopeOf(vm: VmRecord): string {
    const set = this.availabilitySetOf(vm);
    return set ? `set:${resourceKey(set)}` : `vm:${resourceKey(vm)}`;
  }

  runtimeOf(key: string): VmRuntime | undefined {
    return this.#runtime.get(key);
  }

  /** Running VMs with their keys (what a campaign can touch). */
  runningVms(): Array<{ key: string; vm: VmRecord; runtime: VmRuntime }> {
    return [...this.#runtime.entries()].flatMap(([key, runtime]) => {
      const vm = this.#defs.current.vms.get(key);
      return vm && vm.powerState === 'running' ? [{ key, vm, runtime }] : [];
    });
  }

  lock(key: string): void {
    if (this.#locked.has(key)) fail('VmUnderMaintenance', { vm: key });
    this.#locked.add(key);
  }

  unlock(key: string): void {
    this.#locked.delete(key);
  }

  /** Reboot under maintenance: the old process ends, a new one boots (memory is not kept). */
  async rebootForMaintenance(key: string, hostWork: () => Promise<void>): Promise<{ pidBefore: number; pidAfter: number }> {
    const runtime = this.#runtime.get(key) ?? fail('OperationNotAllowed', { vm: key, reason: 'not running' });
    const pidBefore = runtime.handle.pid();
    await runtime.driver.stop(runtime.handle);
    await hostWork();
    const { vm: handle } = await runtime.driver.create(runtime.handle.spec);
    this.#runtime.set(key, { ...runtime, handle });
    return { pidBefore, pidAfter: handle.pid() };
  }

  // ---- internals ----

  async #launch(key: string, vm: VmRecord): Promise<void> {
    const host = this.host(vm.host ?? fail('OperationNotAllowed', { vm: vm.name, reason: 'not allocated' }));
    const driver = this.#deps.driverFor(host);
    const imdsPort = this.#deps.imdsPorts ? await this.#deps.imdsPorts.open(key) : null;
    try {
      const osDisk = vm.osDiskId ? this.#attachDisk(key, vm) : null;
      const spec: VmSpec = {
        vmId: vm.vmId, memoryMiB: vm.memoryMiB, cpus: vm.cpus, disks: osDisk ? [osDisk] : [],
        boot: await this.#deps.bootFor(vm, host, imdsPort),
        ...(imdsPort === null ? {} : { imdsPort }),
      };
      const { vm: handle } = await driver.create(spec);
      this.#runtime.set(key, { handle, driver, host, imdsPort });
    } catch (error) {
      await this.#deps.imdsPorts?.close(key);
      throw error;
    }
  }

  async #shutdown(key: string, how: 'stop' | 'destroy' = 'stop'): Promise<void> {
    const runtime = this.#runtime.get(key);
    if (!runtime) return;
    this.#runtime.delete(key);
    if (how === 'destroy') await runtime.driver.destroy(runtime.handle);
    else await runtime.driver.stop(runtime.handle);
    await this.#deps.imdsPorts?.close(key);
  }

  /** The VM's OS disk attachment: the one held, or a new one from the disk service (which may refuse). */
  #attachDisk(key: string, vm: ResourceRef & { readonly osDiskId?: string | null }): DiskAttachment {
    const diskId = vm.osDiskId ?? fail('InvalidParameter', { osDisk: 'none' });
    const held = this.#osDisks.get(key);
    if (held) return held;
    const port = this.#deps.disks ?? fail('InvalidParameter', { osDisk: `${diskId} (this compute has no disk service)` });
    const attachment = port.attach(diskId, vm);
    this.#osDisks.set(key, attachment);
    return attachment;
  }

  #detachDisk(key: string, vm: ResourceRef & { readonly osDiskId?: string | null }): void {
    const attachment = this.#osDisks.get(key);
    this.#osDisks.delete(key);
    if (attachment && vm.osDiskId) this.#deps.disks?.detach(vm.osDiskId, vm);
  }

  #osDiskView(key: string, diskId: string, runtime: VmRuntime | undefined): OsDiskView {
    const attachment = this.#osDisks.get(key);
    const via = runtime?.driver.capabilities.disks ?? null;
    return {
      id: diskId, attached: attachment !== undefined, hypervisor: via,
      nbdUrl: attachment && via === 'nbd' ? attachment.nbdUrl : null,
    };
  }

  #setPower(key: string, powerState: PowerState, stopReason: string | null): Promise<VmRecord> {
    return this.#defs.mutate((draft) => {
      const vm = draft.vms.get(key) ?? fail('ResourceNotFound', { vm: key });
      const next: VmRecord = { ...vm, powerState, stopReason };
      draft.vms.set(key, next);
      return next;
    });
  }

  #unlocked(ref: ResourceRef): string {
    const key = resourceKey(ref);
    if (this.#locked.has(key)) fail('VmUnderMaintenance', { vm: ref.name });
    return key;
  }

  #setIn(draft: DefinitionsDraft, ref: ResourceRef, setName: string): AvailabilitySetRecord {
    return draft.availabilitySets.get(resourceKey({ ...ref, name: setName })) ?? fail('ResourceNotFound', { availabilitySet: setName });
  }

  #place(draft: DefinitionsDraft, vm: VmRecord): HostConfig {
    const set = vm.availabilitySet ? this.#setIn(draft, vm, vm.availabilitySet) : null;
    const all = [...draft.vms.values()];
    const loads: HostLoad[] = this.#deps.hosts.map((host) => ({
      host,
      allocatedMiB: all.filter((other) => other.host === host.name).reduce((sum, other) => sum + other.memoryMiB, 0),
      setMembers: set ? all.filter((other) => other.host === host.name && memberOf(other, set)).length : 0,
    }));
    return chooseHost(loads, vm.memoryMiB, vm.platformFaultDomain, set?.platformFaultDomainCount ?? 1)
      ?? fail('AllocationFailed', { vm: vm.name, memoryMiB: String(vm.memoryMiB) });
  }
}

function memberOf(vm: VmRecord, set: AvailabilitySetRecord): boolean {
  return vm.availabilitySet !== null && resourceKey({ ...vm, name: vm.availabilitySet }) === resourceKey(set);
}

function inScope(resource: ResourceRef, subscriptionId: string, resourceGroup: string | undefined): boolean {
  return resource.subscriptionId.toLowerCase() === subscriptionId.toLowerCase()
    && (resourceGroup === undefined || resource.resourceGroup.toLowerCase() === resourceGroup.toLowerCase());
}

function inRange(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

function fail(code: ComputeError['code'], details: Record<string, string>): never {
  throw new ComputeError(code, details);
}
