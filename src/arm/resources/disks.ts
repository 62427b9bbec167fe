// Microsoft.Compute/disks over ARM (spec/disks-snapshots.md §1, §2, §4; DiskRP 2023-04-02 shapes):
//
//   PUT    …/disks/{d}                      create (201) or update (200); done before the reply, so the
//                                           body's provisioningState is Succeeded and the SDK's poller
//                                           finishes without polling (spec §1, observed [V])
//   GET    …/disks/{d}                      200
//   PATCH  …/disks/{d}                      tags, sku, diskSizeGB (grow only) → 200
//   DELETE …/disks/{d}                      200 deleted, 204 did not exist
//   GET    …/resourceGroups/{rg}/providers/Microsoft.Compute/disks      list in a group
//   GET    /subscriptions/{s}/providers/Microsoft.Compute/disks         list in a subscription
//   POST   …/disks/{d}/beginGetAccess       { access, durationInSeconds } → 200 { accessSAS }
//   POST   …/disks/{d}/endGetAccess         200
//
// Rules live in src/disks/service/disk-service.ts; this file parses and renders. The request and
// response shapes shared with snapshots (creationData, sku, access) are exported for snapshots.ts.
import type { CreateOption, CreationData, DiskRecord } from '../../disks/service/model.js';
import { GIB } from '../../disks/service/model.js';
import type { AccessRequest, DiskChange, DiskSpec } from '../../disks/service/disk-service.js';
import { formatIso7 } from '../../azure-wire/format.js';
import { diskId } from '../../disks/service/context.js';
import { armFail } from '../errors.js';
import { field, json, param, readJsonObject, type ArmContext, type JsonObject, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';

const DISK = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Compute/disks/{diskName}';
const CREATE_OPTIONS: readonly CreateOption[] = ['Empty', 'Upload', 'Copy', 'CopyStart', 'Import', 'Restore'];
/** Properties accepted and echoed without behaviour (spec §2). */
const ECHOED = [
  'osType', 'hyperVGeneration', 'networkAccessPolicy', 'publicNetworkAccess', 'dataAccessAuthMode', 'tier', 'burstingEnabled',
  'maxShares', 'diskIOPSReadWrite', 'diskMBpsReadWrite', 'supportsHibernation', 'optimizedForFrequentAttach', 'diskAccessId',
] as const;

export const DISK_ROUTES = [
  { method: 'PUT', path: DISK, kind: 'arm', handler: putDisk },
  { method: 'GET', path: DISK, kind: 'arm', handler: getDisk },
  { method: 'PATCH', path: DISK, kind: 'arm', handler: patchDisk },
  { method: 'DELETE', path: DISK, kind: 'arm', handler: deleteDisk },
  { method: 'POST', path: `${DISK}/beginGetAccess`, kind: 'arm', handler: grantAccess },
  { method: 'POST', path: `${DISK}/endGetAccess`, kind: 'arm', handler: revokeAccess },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Compute/disks', kind: 'arm', handler: listInGroup },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/providers/Microsoft.Compute/disks', kind: 'arm', handler: listInSubscription },
] as const satisfies readonly RouteDef[];

export function renderDisk(ctx: ArmContext, disk: DiskRecord): JsonValue {
  const properties: JsonObject = {
    encryption: { type: 'EncryptionAtRestWithPlatformKey' }, networkAccessPolicy: 'AllowAll', publicNetworkAccess: 'Enabled',
    ...disk.extras,
    creationData: renderCreationData(disk.creationData),
    diskSizeGB: Math.ceil(disk.sizeBytes / GIB), diskSizeBytes: disk.sizeBytes,
    uniqueId: disk.uniqueId, timeCreated: formatIso7(disk.createdMs),
    provisioningState: 'Succeeded', diskState: ctx.deps.disks.diskState(disk, ctx.nowMs),
  };
  const body: JsonObject = {
    id: diskId(disk), name: disk.name, type: 'Microsoft.Compute/disks', location: disk.location, tags: disk.tags,
    sku: renderSku(disk.skuName), properties,
  };
  if (disk.zones.length > 0) body.zones = disk.zones;
  const managedBy = ctx.deps.disks.managedBy(disk);
  if (managedBy !== undefined) body.managedBy = managedBy;
  return body;
}

export function renderSku(name: string): JsonObject {
  return { name, tier: name.startsWith('Premium') ? 'Premium' : 'Standard' };
}

export function renderCreationData(data: CreationData): JsonObject {
  const out: JsonObject = { createOption: data.createOption };
  if (data.sourceResourceId !== undefined) out.sourceResourceId = data.sourceResourceId;
  if (data.sourceUri !== undefined) out.sourceUri = data.sourceUri;
  if (data.storageAccountId !== undefined) out.storageAccountId = data.storageAccountId;
  if (data.sourceUniqueId !== undefined) out.sourceUniqueId = data.sourceUniqueId;
  if (data.uploadSizeBytes !== undefined) out.uploadSizeBytes = data.uploadSizeBytes;
  return out;
}

function address(ctx: ArmContext): { subscriptionId: string; resourceGroup: string; name: string } {
  return { subscriptionId: param(ctx, 'subscriptionId'), resourceGroup: param(ctx, 'resourceGroupName'), name: param(ctx, 'diskName') };
}

async function putDisk(ctx: ArmContext): Promise<Reply> {
  const spec = parseDiskSpec(await readJsonObject(ctx));
  const { disk, created } = await ctx.deps.disks.createOrUpdateDisk(address(ctx), spec, ctx.nowMs);
  return json(created ? 201 : 200, renderDisk(ctx, disk));
}

async function getDisk(ctx: ArmContext): Promise<Reply> {
  const a = address(ctx);
  return json(200, renderDisk(ctx, ctx.deps.disks.getDisk(a.subscriptionId, a.resourceGroup, a.name)));
}

async function patchDisk(ctx: ArmContext): Promise<Reply> {
  const body = await readJsonObject(ctx);
  const properties = field.object(body, 'properties', '') ?? {};
  const change: DiskChange = { extras: echoed(properties) };
  const size = field.number(properties, 'diskSizeGB', 'properties.');
  if (size !== undefined) change.diskSizeGB = size;
  const sku = skuName(body);
  if (sku !== undefined) change.skuName = sku;
  const tags = field.tags(body, 'tags');
  if (tags !== undefined) change.tags = tags;
  const a = address(ctx);
  return json(200, renderDisk(ctx, await ctx.deps.disks.updateDisk(a.subscriptionId, a.resourceGroup, a.name, change, ctx.nowMs)));
}

async function deleteDisk(ctx: ArmContext): Promise<Reply> {
  const a = address(ctx);
  return { status: (await ctx.deps.disks.deleteDisk(a.subscriptionId, a.resourceGroup, a.name, ctx.nowMs)) ? 200 : 204 };
}

async function grantAccess(ctx: ArmContext): Promise<Reply> {
  const request = parseAccess(await readJsonObject(ctx));
  const a = address(ctx);
  return json(200, { accessSAS: await ctx.deps.disks.grantDiskAccess(a.subscriptionId, a.resourceGroup, a.name, request, ctx.nowMs) });
}

async function revokeAccess(ctx: ArmContext): Promise<Reply> {
  const a = address(ctx);
  await ctx.deps.disks.revokeDiskAccess(a.subscriptionId, a.resourceGroup, a.name, ctx.nowMs);
  return { status: 200 };
}

async function listInGroup(ctx: ArmContext): Promise<Reply> {
  const disks = ctx.deps.disks.listDisks(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'));
  return json(200, { value: disks.map((d) => renderDisk(ctx, d)) });
}

async function listInSubscription(ctx: ArmContext): Promise<Reply> {
  return json(200, { value: ctx.deps.disks.listDisks(param(ctx, 'subscriptionId')).map((d) => renderDisk(ctx, d)) });
}

function parseDiskSpec(body: JsonObject): DiskSpec {
  const location = field.string(body, 'location', '');
  if (location === undefined) armFail('MissingRequiredParameter', { target: 'location' });
  const properties = field.object(body, 'properties', '') ?? {};
  const spec: DiskSpec = { location, creationData: parseCreationData(properties), extras: echoed(properties) };
  const sku = skuName(body);
  if (sku !== undefined) spec.skuName = sku;
  const tags = field.tags(body, 'tags');
  if (tags !== undefined) spec.tags = tags;
  const size = field.number(properties, 'diskSizeGB', 'properties.');
  if (size !== undefined) spec.diskSizeGB = size;
  const zones = body.zones;
  if (Array.isArray(zones)) spec.zones = zones.filter((z): z is string => typeof z === 'string');
  return spec;
}

export function parseCreationData(properties: JsonObject): CreationData {
  const data = field.object(properties, 'creationData', 'properties.');
  if (data === undefined) armFail('MissingRequiredParameter', { target: 'properties.creationData' });
  const option = field.string(data, 'createOption', 'properties.creationData.');
  if (option === undefined) armFail('MissingRequiredParameter', { target: 'properties.creationData.createOption' });
  const createOption = CREATE_OPTIONS.find((o) => o.toLowerCase() === option.toLowerCase());
  if (!createOption) armFail('InvalidParameter', { target: 'createOption', detail: `'${option}' is not supported; Nimbus supports ${CREATE_OPTIONS.join(', ')}.` });
  const out: CreationData = { createOption };
  const path = 'properties.creationData.';
  const sourceResourceId = field.string(data, 'sourceResourceId', path);
  if (sourceResourceId !== undefined) out.sourceResourceId = sourceResourceId;
  const sourceUri = field.string(data, 'sourceUri', path);
  if (sourceUri !== undefined) out.sourceUri = sourceUri;
  const storageAccountId = field.string(data, 'storageAccountId', path);
  if (storageAccountId !== undefined) out.storageAccountId = storageAccountId;
  const uploadSizeBytes = field.number(data, 'uploadSizeBytes', path);
  if (uploadSizeBytes !== undefined) out.uploadSizeBytes = uploadSizeBytes;
  return out;
}

export function skuName(body: JsonObject): string | undefined {
  const sku = field.object(body, 'sku', '');
  return sku === undefined ? undefined : field.string(sku, 'name', 'sku.');
}

export function echoed(properties: JsonObject): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const key of ECHOED) {
    const value = properties[key];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') out[key] = value;
  }
  return out;
}

export function parseAccess(body: JsonObject): AccessRequest {
  const access = field.string(body, 'access', '');
  if (access === undefined) armFail('MissingRequiredParameter', { target: 'access' });
  const mode = access.toLowerCase() === 'read' ? 'Read' : access.toLowerCase() === 'write' ? 'Write' : undefined;
  if (mode === undefined) armFail('InvalidParameter', { target: 'access', detail: "Expected 'Read' or 'Write'." });
  const durationInSeconds = field.number(body, 'durationInSeconds', '');
  if (durationInSeconds === undefined) armFail('MissingRequiredParameter', { target: 'durationInSeconds' });
  return { access: mode, durationInSeconds };
}
