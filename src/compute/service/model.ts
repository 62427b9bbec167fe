// The compute resource model in Azure's nouns: hosts, availability sets, virtual machines.
//
// Identity: ARM addresses a VM or availability set by (subscription, resource group, name), names
// case-insensitive; `resourceKey()` is that triple lower-cased, the key every map here uses. A VM
// also has Azure's `vmId` (a GUID, stable for the VM's life) which names its files on the host.
//
// Power states follow Azure's instance view codes (`PowerState/<state>`):
//   running      a hosting process (QEMU or the workload) exists and runs
//   stopped      "stopped (allocated)": no process, but the VM keeps its place and memory on its host
//   deallocated  no host at all; start places it again (same update and fault domain)
// Transitional states (starting, stopping, deallocating) exist only while a call is in flight.
import type { DriverKind } from '../hypervisor/driver.js';

export interface ResourceRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

export const resourceKey = (ref: ResourceRef): string =>
  `${ref.subscriptionId}/${ref.resourceGroup}/${ref.name}`.toLowerCase();

export interface HostConfig {
  readonly name: string;
  readonly driver: DriverKind;
  /** Memory the host may give to VMs. */
  readonly memoryMiB: number;
  /** The rack (power/network failure unit) the host sits in: fault domains map onto racks. */
  readonly rack: number;
}

export interface AvailabilitySetRecord extends ResourceRef {
  readonly location: string;
  readonly platformUpdateDomainCount: number;
  readonly platformFaultDomainCount: number;
  readonly sku: 'Aligned' | 'Classic';
  readonly tags: Readonly<Record<string, string>>;
}

export type PowerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'deallocating' | 'deallocated';

export interface VmRecord extends ResourceRef {
  readonly vmId: string;
  readonly location: string;
  readonly vmSize: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  readonly tags: Readonly<Record<string, string>>;
  /** Name of an availability set in the same resource group, or null. */
  readonly availabilitySet: string | null;
  readonly platformUpdateDomain: number;
  readonly platformFaultDomain: number;
  /** The host the VM is allocated on; null when deallocated. */
  readonly host: string | null;
  readonly powerState: PowerState;
  readonly createdMs: number;
  /** Why the VM last stopped without being asked to (e.g. the server restarted under it). */
  readonly stopReason: string | null;
  /** Resource id of the managed OS disk, attached over NBD; absent in records older than OS disks. */
  readonly osDiskId?: string | null;
}

/** The instance view's OS disk: attached in the disk service, and what the hypervisor does with it. */
export interface OsDiskView {
  readonly id: string;
  /** The disk service holds the disk for this VM (from create to delete, except while deallocated). */
  readonly attached: boolean;
  /** Running: 'nbd' (a virtio-blk drive on the NBD export) or 'not-supported' (process driver: recorded, never attached). */
  readonly hypervisor: 'nbd' | 'not-supported' | null;
  readonly nbdUrl: string | null;
}

export interface VmSize {
  readonly cpus: number;
  readonly memoryMiB: number;
}

/** The sizes Nimbus knows (a few common ones); `memoryMiB` on create may override a size's memory. */
export const VM_SIZES: Readonly<Record<string, VmSize>> = {
  Standard_B1ls: { cpus: 1, memoryMiB: 512 },
  Standard_B1s: { cpus: 1, memoryMiB: 1024 },
  Standard_B1ms: { cpus: 1, memoryMiB: 2048 },
  Standard_B2s: { cpus: 2, memoryMiB: 4096 },
  Standard_D2s_v3: { cpus: 2, memoryMiB: 8192 },
  Standard_D4s_v3: { cpus: 4, memoryMiB: 16384 },
};

export interface InstanceStatus {
  readonly code: string;
  readonly level: 'Info' | 'Warning' | 'Error';
  readonly displayStatus: string;
  readonly time?: string;
}

/** What ARM's `instanceView` shows, plus a `nimbus` section saying what really hosts the VM. */
export interface VmInstanceView {
  readonly computerName: string;
  readonly platformUpdateDomain: number;
  readonly platformFaultDomain: number;
  readonly statuses: readonly InstanceStatus[];
  readonly nimbus: {
    readonly host: string | null;
    readonly driver: DriverKind | null;
    readonly isolation: 'vm' | 'none' | null;
    readonly osDisk: OsDiskView | null;
    readonly pid: number | null;
    /** How many hosting processes the VM has had, minus one (bumped by in-place updates). */
    readonly generation: number | null;
    readonly imdsPort: number | null;
    readonly underMaintenance: boolean;
  };
}

const POWER_DISPLAY: Record<PowerState, string> = {
  starting: 'VM starting', running: 'VM running', stopping: 'VM stopping', stopped: 'VM stopped',
  deallocating: 'VM deallocating', deallocated: 'VM deallocated',
};

export function powerStatus(state: PowerState): InstanceStatus {
  return { code: `PowerState/${state}`, level: 'Info', displayStatus: POWER_DISPLAY[state] };
}
