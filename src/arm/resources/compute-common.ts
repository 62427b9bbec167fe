// What the Microsoft.Compute adapters (availability-sets.ts, virtual-machines.ts) and the Nimbus
// operator API (maintenance.ts) share: the compute dependencies they get, resource ids, and the
// translation of a ComputeError's domain details into the details ARM_ERRORS' messages name.
//
// The compute service says *what* failed ({ vm: 'web-1' }, { vmSize: 'Standard_X' }); only the adapter
// knows the resource type and group the client addressed, so every service call goes through
// `computeCall`, which rethrows the same code with { type, name, resourceGroup, target, detail }
// added. The code is never changed, so the status still comes from the one table (errors.ts).
import { ComputeError } from '../../compute/errors.js';
import type { MaintenanceOrchestrator } from '../../compute/maintenance/orchestrator.js';
import type { ComputeService } from '../../compute/service/compute-service.js';
import { resourceGroupId } from '../context.js';
import type { VmProfiles } from './vm-profiles.js';

/** The compute part of ArmDeps (src/main.ts builds it from createCompute). */
export interface ArmCompute {
  readonly service: ComputeService;
  readonly maintenance: MaintenanceOrchestrator;
  /** What ARM records about a VM beyond the compute model (storageProfile, osProfile, networkProfile). */
  readonly vmProfiles: VmProfiles;
}

export interface ResourceTarget {
  readonly type: string;
  readonly name: string;
  readonly resourceGroup: string;
}

const OWN_KEYS = new Set(['type', 'name', 'resourceGroup', 'target', 'detail']);

/** Runs a compute service call; a ComputeError comes back with the details ARM's messages need. */
export async function computeCall<T>(target: ResourceTarget, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ComputeError)) throw error;
    const domain = Object.entries(error.details).filter(([key]) => !OWN_KEYS.has(key));
    const first = domain[0];
    throw new ComputeError(error.code, {
      ...error.details, ...target,
      ...(error.code === 'InvalidParameter' && first ? { target: parameterPath(first[0]) } : {}),
      detail: domain.map(([key, value]) => `${key}: ${value}`).join(', '),
    });
  }
}

/** Where a service-level parameter sits in the ARM request body. */
function parameterPath(key: string): string {
  switch (key) {
    case 'vmSize': return 'properties.hardwareProfile.vmSize';
    case 'platformUpdateDomainCount': return 'properties.platformUpdateDomainCount';
    case 'platformFaultDomainCount': return 'properties.platformFaultDomainCount';
    default: return key;
  }
}

export const AVAILABILITY_SET_TYPE = 'Microsoft.Compute/availabilitySets';
export const VIRTUAL_MACHINE_TYPE = 'Microsoft.Compute/virtualMachines';

export function computeResourceId(subscriptionId: string, resourceGroup: string, type: string, name: string): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/${type}/${name}`;
}

/**
 * The name in an availability set id, which must be in the VM's own subscription and resource group
 * (Azure's rule for availability sets); undefined when `id` is not an availability set id there.
 */
export function availabilitySetNameIn(id: string, subscriptionId: string, resourceGroup: string): string | undefined {
  const match = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/availabilitySets\/([^/]+)$/i.exec(id);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  const same = match[1].toLowerCase() === subscriptionId.toLowerCase() && match[2].toLowerCase() === resourceGroup.toLowerCase();
  return same ? match[3] : undefined;
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
