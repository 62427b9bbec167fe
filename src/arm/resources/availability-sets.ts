// Microsoft.Compute/availabilitySets over ARM (https://learn.microsoft.com/rest/api/compute/availability-sets):
//
//   PUT    …/availabilitySets/{s}        create → 200 (the SDK accepts only 200 here); same settings again → 200
//   GET    …/availabilitySets/{s}        200 with properties.virtualMachines = the member VMs' ids
//   DELETE …/availabilitySets/{s}        200 deleted, 204 did not exist; 409 AvailabilitySetInUse with members
//   GET    …/resourceGroups/{rg}/providers/Microsoft.Compute/availabilitySets       list in a group
//   GET    /subscriptions/{s}/providers/Microsoft.Compute/availabilitySets          list in a subscription
//
// Properties: platformUpdateDomainCount (1-20, default 5), platformFaultDomainCount (1-3, default 2),
// sku.name Aligned (default; managed disks) or Classic, recorded and echoed. Placement of members
// across the domains is the compute service's (src/compute/service/placement.ts).
//
// A PUT on an existing set that changes its domain counts or sku is refused (409 OperationNotAllowed):
// Azure cannot change the domain counts of a set either, and Nimbus has no update path for tags yet,
// so a repeated PUT answers with the set as it is.
import type { AvailabilitySetRecord } from '../../compute/service/model.js';
import { ComputeError } from '../../compute/errors.js';
import { armFail } from '../errors.js';
import { field, json, param, readJsonObject, type ArmContext, type JsonObject, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';
import { AVAILABILITY_SET_TYPE, VIRTUAL_MACHINE_TYPE, computeCall, computeResourceId, type ResourceTarget } from './compute-common.js';

const SET = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Compute/availabilitySets/{availabilitySetName}';
const SKUS = ['Aligned', 'Classic'] as const;

export const AVAILABILITY_SET_ROUTES = [
  { method: 'PUT', path: SET, kind: 'arm', handler: putSet },
  { method: 'GET', path: SET, kind: 'arm', handler: getSet },
  { method: 'DELETE', path: SET, kind: 'arm', handler: deleteSet },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Compute/availabilitySets', kind: 'arm', handler: listInGroup },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/providers/Microsoft.Compute/availabilitySets', kind: 'arm', handler: listInSubscription },
] as const satisfies readonly RouteDef[];

interface SetRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

function refOf(ctx: ArmContext): SetRef {
  return { subscriptionId: param(ctx, 'subscriptionId'), resourceGroup: param(ctx, 'resourceGroupName'), name: param(ctx, 'availabilitySetName') };
}

function targetOf(ref: SetRef): ResourceTarget {
  return { type: AVAILABILITY_SET_TYPE, name: ref.name, resourceGroup: ref.resourceGroup };
}

function renderSet(ctx: ArmContext, set: AvailabilitySetRecord): JsonValue {
  const members = ctx.deps.compute.service.setMembers(set);
  return {
    id: computeResourceId(set.subscriptionId, set.resourceGroup, AVAILABILITY_SET_TYPE, set.name),
    name: set.name,
    type: AVAILABILITY_SET_TYPE,
    location: set.location,
    tags: { ...set.tags },
    sku: { name: set.sku },
    properties: {
      platformUpdateDomainCount: set.platformUpdateDomainCount,
      platformFaultDomainCount: set.platformFaultDomainCount,
      virtualMachines: members.map((vm) => ({ id: computeResourceId(vm.subscriptionId, vm.resourceGroup, VIRTUAL_MACHINE_TYPE, vm.name) })),
    },
  };
}

async function putSet(ctx: ArmContext): Promise<Reply> {
  const ref = refOf(ctx);
  const spec = parseSet(await readJsonObject(ctx));
  ctx.deps.groups.get(ref.subscriptionId, ref.resourceGroup);
  const service = ctx.deps.compute.service;
  const existing = service.listAvailabilitySets(ref.subscriptionId, ref.resourceGroup).find((s) => s.name.toLowerCase() === ref.name.toLowerCase());
  if (existing) {
    const changed = changedSetting(existing, spec);
    if (changed !== undefined) {
      throw new ComputeError('OperationNotAllowed', { ...targetOf(ref), detail: `${changed} of an existing availability set cannot be changed.` });
    }
    return json(200, renderSet(ctx, existing));
  }
  const created = await computeCall(targetOf(ref), () => service.createAvailabilitySet({ ...ref, ...spec }));
  return json(200, renderSet(ctx, created));
}

async function getSet(ctx: ArmContext): Promise<Reply> {
  const ref = refOf(ctx);
  return json(200, renderSet(ctx, await computeCall(targetOf(ref), () => ctx.deps.compute.service.getAvailabilitySet(ref))));
}

async function deleteSet(ctx: ArmContext): Promise<Reply> {
  const ref = refOf(ctx);
  const service = ctx.deps.compute.service;
  const exists = service.listAvailabilitySets(ref.subscriptionId, ref.resourceGroup).some((s) => s.name.toLowerCase() === ref.name.toLowerCase());
  if (!exists) return { status: 204 };
  await computeCall(targetOf(ref), () => service.deleteAvailabilitySet(ref));
  return { status: 200 };
}

async function listInGroup(ctx: ArmContext): Promise<Reply> {
  const subscriptionId = param(ctx, 'subscriptionId');
  const resourceGroup = param(ctx, 'resourceGroupName');
  ctx.deps.groups.get(subscriptionId, resourceGroup);
  return json(200, { value: ctx.deps.compute.service.listAvailabilitySets(subscriptionId, resourceGroup).map((s) => renderSet(ctx, s)) });
}

async function listInSubscription(ctx: ArmContext): Promise<Reply> {
  return json(200, { value: ctx.deps.compute.service.listAvailabilitySets(param(ctx, 'subscriptionId')).map((s) => renderSet(ctx, s)) });
}

interface SetSpec {
  location: string;
  platformUpdateDomainCount?: number;
  platformFaultDomainCount?: number;
  sku?: 'Aligned' | 'Classic';
  tags?: Record<string, string>;
}

function parseSet(body: JsonObject): SetSpec {
  const location = field.string(body, 'location', '');
  if (location === undefined) armFail('MissingRequiredParameter', { target: 'location' });
  const spec: SetSpec = { location };
  const properties = field.object(body, 'properties', '') ?? {};
  const updateDomains = field.number(properties, 'platformUpdateDomainCount', 'properties.');
  if (updateDomains !== undefined) spec.platformUpdateDomainCount = updateDomains;
  const faultDomains = field.number(properties, 'platformFaultDomainCount', 'properties.');
  if (faultDomains !== undefined) spec.platformFaultDomainCount = faultDomains;
  const sku = field.object(body, 'sku', '');
  const skuName = sku === undefined ? undefined : field.string(sku, 'name', 'sku.');
  if (skuName !== undefined) {
    const known = SKUS.find((s) => s.toLowerCase() === skuName.toLowerCase());
    if (!known) armFail('InvalidParameter', { target: 'sku.name', detail: `Supported: ${SKUS.join(', ')}.` });
    spec.sku = known;
  }
  const tags = field.tags(body, 'tags');
  if (tags !== undefined) spec.tags = tags;
  return spec;
}

/** The first setting a repeated PUT would change, or undefined when it asks for the set as it is. */
function changedSetting(set: AvailabilitySetRecord, spec: SetSpec): string | undefined {
  if (spec.platformUpdateDomainCount !== undefined && spec.platformUpdateDomainCount !== set.platformUpdateDomainCount) return 'platformUpdateDomainCount';
  if (spec.platformFaultDomainCount !== undefined && spec.platformFaultDomainCount !== set.platformFaultDomainCount) return 'platformFaultDomainCount';
  if (spec.sku !== undefined && spec.sku !== set.sku) return 'sku';
  return undefined;
}
