// Microsoft.Compute/virtualMachines over ARM (https://learn.microsoft.com/rest/api/compute/virtual-machines):
//
//   PUT    …/virtualMachines/{vm}                 create and start → 201 (200 for a repeated PUT), provisioningState Succeeded
//   GET    …/virtualMachines/{vm}[?$expand=instanceView]
//   GET    …/virtualMachines/{vm}/instanceView    statuses (ProvisioningState/…, PowerState/…), platformUpdateDomain/FaultDomain
//   POST   …/virtualMachines/{vm}/start | powerOff | deallocate | restart     → 200 when done
//   DELETE …/virtualMachines/{vm}                 200 deleted, 204 did not exist
//   GET    …/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines   list in a group
//   GET    /subscriptions/{s}/providers/Microsoft.Compute/virtualMachines      list in a subscription
//
// LROs (spec/disks-snapshots.md §1): every operation finishes before the reply (a process-backed
// instance starts in milliseconds; a qemu guest's process is up once QEMU answers QMP), so PUT answers
// 201/200 with a terminal provisioningState and POST/DELETE answer 200 with no polling headers. The
// @azure/arm-compute pollers (beginCreateOrUpdateAndWait, beginStartAndWait, …) then complete without
// polling, verified in test/arm-compute.test.ts. A 202 + Azure-AsyncOperation flow would only be needed
// for work that outlives the request.
//
// OS disk: storageProfile.osDisk.managedDisk.id names an existing managed disk, which the VM holds
// attached from creation to delete (404 ResourceNotFound when there is none, 409 OperationNotAllowed
// when another VM or writer holds it or it is exported); a qemu host attaches it as a virtio-blk
// drive over NBD, a process host records it only (instanceView.nimbus.osDisk says which).
// Recorded and echoed, not acted on: the rest of storageProfile, osProfile (computerName,
// adminUsername; never passwords), networkProfile. See vm-profiles.ts.
// A repeated PUT may not change vmSize or the availability set (409 OperationNotAllowed; Azure needs a
// deallocated VM to resize, which Nimbus does not implement yet).
//
// Nimbus extension: the tag `nimbus-memory-mib` gives a VM less (or more) memory than its size, for
// small test guests on qemu hosts; the SDKs pass tags through unchanged.
import { ComputeError } from '../../compute/errors.js';
import { resourceKey, type VmRecord } from '../../compute/service/model.js';
import { armFail } from '../errors.js';
import { field, isObject, json, param, readJsonObject, type ArmContext, type JsonObject, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';
import {
  AVAILABILITY_SET_TYPE, VIRTUAL_MACHINE_TYPE, availabilitySetNameIn, computeCall, computeResourceId, type ResourceTarget,
} from './compute-common.js';
import type { VmProfile } from './vm-profiles.js';

const VM = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}';
export const MEMORY_TAG = 'nimbus-memory-mib';

export const VIRTUAL_MACHINE_ROUTES = [
  { method: 'PUT', path: VM, kind: 'arm', handler: putVm },
  { method: 'GET', path: VM, kind: 'arm', handler: getVm },
  { method: 'DELETE', path: VM, kind: 'arm', handler: deleteVm },
  { method: 'GET', path: `${VM}/instanceView`, kind: 'arm', handler: getInstanceView },
  { method: 'POST', path: `${VM}/start`, kind: 'arm', handler: (ctx) => powerAction(ctx, 'start') },
  { method: 'POST', path: `${VM}/powerOff`, kind: 'arm', handler: (ctx) => powerAction(ctx, 'powerOff') },
  { method: 'POST', path: `${VM}/deallocate`, kind: 'arm', handler: (ctx) => powerAction(ctx, 'deallocate') },
  { method: 'POST', path: `${VM}/restart`, kind: 'arm', handler: (ctx) => powerAction(ctx, 'restart') },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines', kind: 'arm', handler: listInGroup },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/providers/Microsoft.Compute/virtualMachines', kind: 'arm', handler: listInSubscription },
] as const satisfies readonly RouteDef[];

interface VmRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

function refOf(ctx: ArmContext): VmRef {
  return { subscriptionId: param(ctx, 'subscriptionId'), resourceGroup: param(ctx, 'resourceGroupName'), name: param(ctx, 'vmName') };
}

function targetOf(ref: VmRef): ResourceTarget {
  return { type: VIRTUAL_MACHINE_TYPE, name: ref.name, resourceGroup: ref.resourceGroup };
}

function renderVm(ctx: ArmContext, vm: VmRecord, withInstanceView: boolean): JsonValue {
  const profile = ctx.deps.compute.vmProfiles.get(resourceKey(vm));
  const properties: JsonObject = {
    vmId: vm.vmId,
    hardwareProfile: { vmSize: vm.vmSize },
    provisioningState: 'Succeeded',
    timeCreated: new Date(vm.createdMs).toISOString(),
  };
  if (vm.availabilitySet !== null) {
    properties.availabilitySet = { id: computeResourceId(vm.subscriptionId, vm.resourceGroup, AVAILABILITY_SET_TYPE, vm.availabilitySet) };
  }
  if (profile?.storageProfile) properties.storageProfile = profile.storageProfile;
  if (profile?.osProfile) properties.osProfile = { ...profile.osProfile };
  if (profile?.networkProfile) properties.networkProfile = profile.networkProfile;
  if (withInstanceView) properties.instanceView = renderInstanceView(ctx, vm);
  return {
    id: computeResourceId(vm.subscriptionId, vm.resourceGroup, VIRTUAL_MACHINE_TYPE, vm.name),
    name: vm.name,
    type: VIRTUAL_MACHINE_TYPE,
    location: vm.location,
    tags: { ...vm.tags },
    properties,
  };
}

function renderInstanceView(ctx: ArmContext, vm: VmRecord): JsonObject {
  const view = ctx.deps.compute.service.instanceView(vm);
  const computerName = ctx.deps.compute.vmProfiles.get(resourceKey(vm))?.osProfile?.computerName ?? view.computerName;
  return {
    computerName,
    platformUpdateDomain: view.platformUpdateDomain,
    platformFaultDomain: view.platformFaultDomain,
    statuses: view.statuses.map((s) => ({ code: s.code, level: s.level, displayStatus: s.displayStatus, ...(s.time ? { time: s.time } : {}) })),
    // Not Azure's: what really hosts the VM (host, driver, whether it is a real VM or a process).
    nimbus: { ...view.nimbus, osDisk: view.nimbus.osDisk ? { ...view.nimbus.osDisk } : null },
  };
}

async function putVm(ctx: ArmContext): Promise<Reply> {
  const ref = refOf(ctx);
  const spec = parseVm(await readJsonObject(ctx), ref);
  ctx.deps.groups.get(ref.subscriptionId, ref.resourceGroup);
  const { service, vmProfiles } = ctx.deps.compute;
  const existing = service.listVms(ref.subscriptionId, ref.resourceGroup).find((vm) => vm.name.toLowerCase() === ref.name.toLowerCase());
  if (existing) {
    const changed = changedSetting(existing, spec);
    if (changed !== undefined) {
      throw new ComputeError('OperationNotAllowed', { ...targetOf(ref), detail: `Changing ${changed} of an existing virtual machine is not supported by Nimbus.` });
    }
    return json(200, renderVm(ctx, existing, false));
  }
  const key = resourceKey(ref);
  // The profile is written first so that a GET racing the start already shows it; a failed create removes it.
  await vmProfiles.set(key, spec.profile);
  try {
    const vm = await computeCall(targetOf(ref), () => service.createVm({
      ...ref, location: spec.location, vmSize: spec.vmSize, availabilitySet: spec.availabilitySet, osDiskId: spec.osDiskId,
      ...(spec.memoryMiB === undefined ? {} : { memoryMiB: spec.memoryMiB }), ...(spec.tags ? { tags: spec.tags } : {}),
    }));
    return json(201, renderVm(ctx, vm, false));
  } catch (error) {
    if (!(error instanceof ComputeError && error.code === 'ResourceExists')) await vmProfiles.delete(key);
    throw error;
  }
}

async function getVm(ctx: ArmContext): Promise<Reply> {
  const ref = refOf(ctx);
  const expand = ctx.query.get('$expand');
  if (expand !== null && expand.toLowerCase() !== 'instanceview' && expand.toLowerCase() !== 'userdata') {
    armFail('InvalidParameter', { target: '$expand', detail: "Supported: 'instanceView', 'userData'." });
  }
  const vm = await computeCall(targetOf(ref), () => ctx.deps.compute.service.getVm(ref));
  return json(200, renderVm(ctx, vm, expand?.toLowerCase() === 'instanceview'));
}

async function getInstanceView(ctx: ArmContext): Promise<Reply> {
  const ref = refOf(ctx);
  const vm = await computeCall(targetOf(ref), () => ctx.deps.compute.service.getVm(ref));
  return json(200, renderInstanceView(ctx, vm));
}

type PowerAction = 'start' | 'powerOff' | 'deallocate' | 'restart';

async function powerAction(ctx: ArmContext, action: PowerAction): Promise<Reply> {
  const ref = refOf(ctx);
  const service = ctx.deps.compute.service;
  await computeCall(targetOf(ref), async () => {
    switch (action) {
      case 'start': return service.startVm(ref);
      case 'powerOff': return service.powerOffVm(ref);
      case 'deallocate': return service.deallocateVm(ref);
      case 'restart': {
        // Azure restarts only a running VM; a stopped one is started with `start`.
        const vm = service.getVm(ref);
        if (vm.powerState !== 'running') throw new ComputeError('OperationNotAllowed', { powerState: vm.powerState, reason: 'restart needs a running VM' });
        await service.powerOffVm(ref);
        return service.startVm(ref);
      }
    }
  });
  return { status: 200 };
}

async function deleteVm(ctx: ArmContext): Promise<Reply> {
  const ref = refOf(ctx);
  const { service, vmProfiles } = ctx.deps.compute;
  const exists = service.listVms(ref.subscriptionId, ref.resourceGroup).some((vm) => vm.name.toLowerCase() === ref.name.toLowerCase());
  if (!exists) return { status: 204 };
  await computeCall(targetOf(ref), () => service.deleteVm(ref));
  await vmProfiles.delete(resourceKey(ref));
  return { status: 200 };
}

async function listInGroup(ctx: ArmContext): Promise<Reply> {
  const subscriptionId = param(ctx, 'subscriptionId');
  const resourceGroup = param(ctx, 'resourceGroupName');
  ctx.deps.groups.get(subscriptionId, resourceGroup);
  return json(200, { value: ctx.deps.compute.service.listVms(subscriptionId, resourceGroup).map((vm) => renderVm(ctx, vm, false)) });
}

async function listInSubscription(ctx: ArmContext): Promise<Reply> {
  return json(200, { value: ctx.deps.compute.service.listVms(param(ctx, 'subscriptionId')).map((vm) => renderVm(ctx, vm, false)) });
}

interface VmSpec {
  location: string;
  vmSize: string;
  availabilitySet: string | null;
  memoryMiB?: number;
  tags?: Record<string, string>;
  osDiskId: string | null;
  profile: VmProfile;
}

function parseVm(body: JsonObject, ref: VmRef): VmSpec {
  const location = field.string(body, 'location', '');
  if (location === undefined) armFail('MissingRequiredParameter', { target: 'location' });
  const properties = field.object(body, 'properties', '') ?? {};
  const hardware = field.object(properties, 'hardwareProfile', 'properties.') ?? {};
  const vmSize = field.string(hardware, 'vmSize', 'properties.hardwareProfile.');
  if (vmSize === undefined) armFail('MissingRequiredParameter', { target: 'properties.hardwareProfile.vmSize' });
  const setRef = field.object(properties, 'availabilitySet', 'properties.');
  const setId = setRef === undefined ? undefined : field.string(setRef, 'id', 'properties.availabilitySet.');
  const availabilitySet = setId === undefined ? null : availabilitySetNameIn(setId, ref.subscriptionId, ref.resourceGroup);
  if (availabilitySet === undefined) {
    armFail('InvalidParameter', { target: 'properties.availabilitySet.id', detail: 'An availability set must be in the virtual machine\'s subscription and resource group.' });
  }
  const tags = field.tags(body, 'tags');
  const spec: VmSpec = { location, vmSize, availabilitySet, osDiskId: osDiskIdOf(properties), profile: parseProfile(properties) };
  if (tags !== undefined) spec.tags = tags;
  const memory = tags?.[MEMORY_TAG];
  if (memory !== undefined) {
    if (!/^\d+$/.test(memory)) armFail('InvalidParameter', { target: `tags.${MEMORY_TAG}`, detail: 'Expected a whole number of MiB.' });
    spec.memoryMiB = Number(memory);
  }
  return spec;
}

function osDiskIdOf(properties: JsonObject): string | null {
  const storage = field.object(properties, 'storageProfile', 'properties.');
  const osDisk = storage === undefined ? undefined : field.object(storage, 'osDisk', 'properties.storageProfile.');
  const managedDisk = osDisk === undefined ? undefined : field.object(osDisk, 'managedDisk', 'properties.storageProfile.osDisk.');
  return (managedDisk === undefined ? undefined : field.string(managedDisk, 'id', 'properties.storageProfile.osDisk.managedDisk.')) ?? null;
}

function parseProfile(properties: JsonObject): VmProfile {
  const storage = field.object(properties, 'storageProfile', 'properties.');
  const osDisk = storage === undefined ? undefined : field.object(storage, 'osDisk', 'properties.storageProfile.');
  const managedDisk = osDisk === undefined ? undefined : field.object(osDisk, 'managedDisk', 'properties.storageProfile.osDisk.');
  if (managedDisk !== undefined) field.string(managedDisk, 'id', 'properties.storageProfile.osDisk.managedDisk.');
  const os = field.object(properties, 'osProfile', 'properties.');
  const computerName = os === undefined ? undefined : field.string(os, 'computerName', 'properties.osProfile.');
  const adminUsername = os === undefined ? undefined : field.string(os, 'adminUsername', 'properties.osProfile.');
  const network = properties['networkProfile'];
  return {
    storageProfile: storage ?? null,
    osProfile: os === undefined ? null : { ...(computerName ? { computerName } : {}), ...(adminUsername ? { adminUsername } : {}) },
    networkProfile: isObject(network) ? network : null,
  };
}

function changedSetting(vm: VmRecord, spec: VmSpec): string | undefined {
  if (spec.vmSize.toLowerCase() !== vm.vmSize.toLowerCase()) return 'vmSize';
  if ((spec.availabilitySet ?? '').toLowerCase() !== (vm.availabilitySet ?? '').toLowerCase()) return 'availabilitySet';
  if ((spec.osDiskId ?? '').toLowerCase() !== (vm.osDiskId ?? '').toLowerCase()) return 'storageProfile.osDisk.managedDisk.id';
  return undefined;
}
