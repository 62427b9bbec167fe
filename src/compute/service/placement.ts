// Placement: which update domain, fault domain and host a new VM gets. Pure functions.
//
// Azure assigns a set's VMs to update domains round-robin (with 5 UDs the 6th VM shares UD 0 with
// the 1st) and spreads them over fault domains the same way. Round-robin over *creation order*
// leaves holes once VMs are deleted, so Nimbus fills the least-used domain instead, lowest index
// first on ties: for a set that only grows this is exactly Azure's round-robin.
//
// Fault domains are failure units (power, network): here they map onto host racks. Fault domain f
// of a set may use hosts whose `rack % faultDomainCount === f`; when the machine has fewer racks
// than the set has fault domains, that constraint cannot hold and any host is allowed (the instance
// view still reports the FD, which then only says how the set would be spread on real hardware).
// Among allowed hosts with room, the one with the fewest VMs of this set wins (spread over hosts),
// then the one with the most free memory.
import type { HostConfig, VmRecord } from './model.js';

export interface DomainChoice {
  readonly updateDomain: number;
  readonly faultDomain: number;
}

export function chooseDomains(members: readonly VmRecord[], updateDomainCount: number, faultDomainCount: number): DomainChoice {
  return {
    updateDomain: leastUsed(updateDomainCount, members.map((vm) => vm.platformUpdateDomain)),
    faultDomain: leastUsed(faultDomainCount, members.map((vm) => vm.platformFaultDomain)),
  };
}

function leastUsed(count: number, used: readonly number[]): number {
  const tally = Array.from({ length: count }, () => 0);
  for (const domain of used) if (domain < count) tally[domain] = (tally[domain] ?? 0) + 1;
  let best = 0;
  for (let domain = 1; domain < count; domain++) if ((tally[domain] ?? 0) < (tally[best] ?? 0)) best = domain;
  return best;
}

export interface HostLoad {
  readonly host: HostConfig;
  /** Memory of the VMs allocated on it (running or stopped-allocated). */
  readonly allocatedMiB: number;
  /** How many VMs of the set being placed it already holds. */
  readonly setMembers: number;
}

/** The host for a VM needing `memoryMiB` in fault domain `faultDomain` of `faultDomainCount`; null if none fits. */
export function chooseHost(loads: readonly HostLoad[], memoryMiB: number, faultDomain: number, faultDomainCount: number): HostConfig | null {
  const racks = new Set(loads.map((load) => load.host.rack));
  const rackBound = racks.size >= faultDomainCount && faultDomainCount > 1;
  const fits = loads.filter((load) => load.host.memoryMiB - load.allocatedMiB >= memoryMiB);
  const allowed = rackBound ? fits.filter((load) => load.host.rack % faultDomainCount === faultDomain) : fits;
  const ranked = [...allowed].sort((a, b) =>
    a.setMembers - b.setMembers
    || (b.host.memoryMiB - b.allocatedMiB) - (a.host.memoryMiB - a.allocatedMiB)
    || a.host.name.localeCompare(b.host.name));
  return ranked[0]?.host ?? null;
}
