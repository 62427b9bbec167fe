// The disk service as the compute service's VmDiskPort: a VM's OS disk is attached in the disk
// service (one writer: the VM; see DiskService.attachToVm) and reached by the VM's hypervisor
// through the NBD server, on the unix socket in the data dir when there is one (no TCP stack in
// the way), else on the TCP port. The export name is the attachment's own (`vm-attached/<token>`).
import type { Clock } from '../../platform/clock.js';
import { nbdUrlOf, type DiskAttachment, type NbdServerAddress } from '../../compute/hypervisor/driver.js';
import type { VmDiskPort } from '../../compute/service/compute-service.js';
import type { ResourceRef } from '../../compute/service/model.js';
import type { DiskService } from './disk-service.js';

export function vmResourceId(vm: ResourceRef): string {
  return `/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`;
}

export function vmDiskPort(disks: DiskService, server: NbdServerAddress, clock: Clock): VmDiskPort {
  return {
    attach(diskId: string, vm: ResourceRef): DiskAttachment {
      const { exportName } = disks.attachToVm(diskId, vmResourceId(vm), clock.nowMs());
      return { name: diskId, server, exportName, nbdUrl: nbdUrlOf(server, exportName) };
    },
    detach(diskId: string, vm: ResourceRef): void {
      disks.detachFromVm(diskId, vmResourceId(vm));
    },
  };
}
