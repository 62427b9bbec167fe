// Microsoft.Compute/snapshots over ARM (spec/disks-snapshots.md §3–§7), and the async-operation
// status of CopyStart:
//
//   PUT    …/snapshots/{s}                  Copy: done before the reply → 201/200, provisioningState Succeeded.
//                                           CopyStart: 201, provisioningState Updating, completionPercent,
//                                           Azure-AsyncOperation → the SDK polls it, then GETs the snapshot
//   GET    …/snapshots/{s}                  200 (completionPercent rises while a CopyStart runs)
//   PATCH  …/snapshots/{s}                  tags, sku → 200
//   DELETE …/snapshots/{s}                  200 deleted, 204 did not exist
//   GET    …/resourceGroups/{rg}/providers/Microsoft.Compute/snapshots, /subscriptions/{s}/providers/…   lists
//   POST   …/snapshots/{s}/beginGetAccess   { access: Read } → 200 { accessSAS } (a blob snapshot URL for
//                                           incremental snapshots, so two of them diff by URL)
//   POST   …/snapshots/{s}/endGetAccess     200
//   GET    /subscriptions/{s}/providers/Microsoft.Compute/locations/{l}/operations/{id}   operation status
//
// Nimbus-specific read-only properties, beside Azure's: `nimbusStoredBytes` (what the snapshot stores
// beyond its predecessor: Azure's billed "used size"), `nimbusBytesCopied` (CopyStart: bytes shipped).
import { formatIso7 } from '../../azure-wire/format.js';
import { snapshotId } from '../../disks/service/context.js';
import type { SnapshotChange, SnapshotSpec } from '../../disks/service/disk-service.js';
import { GIB, type SnapshotRecord } from '../../disks/service/model.js';
import { armFail } from '../errors.js';
import { field, json, param, readJsonObject, type ArmContext, type JsonObject, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';
import { echoed, parseAccess, parseCreationData, renderCreationData, renderSku, skuName } from './disks.js';

const SNAPSHOT = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Compute/snapshots/{snapshotName}';
const OPERATION = '/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/operations/{operationId}';

export const SNAPSHOT_ROUTES = [
  { method: 'PUT', path: SNAPSHOT, kind: 'arm', handler: putSnapshot },
  { method: 'GET', path: SNAPSHOT, kind: 'arm', handler: getSnapshot },
  { method: 'PATCH', path: SNAPSHOT, kind: 'arm', handler: patchSnapshot },
  { method: 'DELETE', path: SNAPSHOT, kind: 'arm', handler: deleteSnapshot },
  { method: 'POST', path: `${SNAPSHOT}/beginGetAccess`, kind: 'arm', handler: grantAccess },
  { method: 'POST', path: `${SNAPSHOT}/endGetAccess`, kind: 'arm', handler: revokeAccess },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Compute/snapshots', kind: 'arm', handler: listInGroup },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/providers/Microsoft.Compute/snapshots', kind: 'arm', handler: listInSubscription },
  { method: 'GET', path: OPERATION, kind: 'arm', handler: getOperation },
] as const satisfies readonly RouteDef[];

export function renderSnapshot(ctx: ArmContext, snapshot: SnapshotRecord): JsonValue {
  const status = ctx.deps.disks.snapshotStatus(snapshot);
  const properties: JsonObject = {
    encryption: { type: 'EncryptionAtRestWithPlatformKey' }, networkAccessPolicy: 'AllowAll', publicNetworkAccess: 'Enabled',
    ...snapshot.extras,
    creationData: renderCreationData(snapshot.creationData),
    diskSizeGB: Math.ceil(snapshot.sizeBytes / GIB), diskSizeBytes: snapshot.sizeBytes,
    uniqueId: snapshot.uniqueId, timeCreated: formatIso7(snapshot.createdMs),
    provisioningState: status.provisioningState, diskState: ctx.deps.disks.snapshotState(snapshot, ctx.nowMs),
    incremental: snapshot.incremental, completionPercent: status.completionPercent,
    nimbusStoredBytes: snapshot.storedBytes,
  };
  if (snapshot.familyId !== undefined) properties.incrementalSnapshotFamilyId = snapshot.familyId;
  if (snapshot.copy !== undefined) properties.nimbusBytesCopied = status.bytesCopied;
  if (snapshot.copy?.state === 'failed') properties.copyCompletionError = { errorCode: snapshot.copy.errorCode, errorMessage: snapshot.copy.errorMessage };
  return {
    id: snapshotId(snapshot), name: snapshot.name, type: 'Microsoft.Compute/snapshots', location: snapshot.location,
    tags: snapshot.tags, sku: renderSku(snapshot.skuName), managedBy: null, properties,
  };
}

function address(ctx: ArmContext): { subscriptionId: string; resourceGroup: string; name: string } {
  return { subscriptionId: param(ctx, 'subscriptionId'), resourceGroup: param(ctx, 'resourceGroupName'), name: param(ctx, 'snapshotName') };
}

async function putSnapshot(ctx: ArmContext): Promise<Reply> {
  const spec = parseSnapshotSpec(await readJsonObject(ctx));
  const { snapshot, created, operationId } = await ctx.deps.disks.createOrUpdateSnapshot(address(ctx), spec, ctx.nowMs);
  if (operationId === undefined) return json(created ? 201 : 200, renderSnapshot(ctx, snapshot));
  const apiVersion = ctx.query.get('api-version') ?? '';
  const operationUrl = `${ctx.baseUrl}/subscriptions/${encodeURIComponent(snapshot.subscriptionId)}/providers/Microsoft.Compute/locations/${snapshot.location}/operations/${operationId}?api-version=${encodeURIComponent(apiVersion)}`;
  // Retry-After: 1 keeps pollers quick (Python's ARM poller waits 30 s without it; spec §1).
  return json(201, renderSnapshot(ctx, snapshot), { 'Azure-AsyncOperation': operationUrl, 'Retry-After': '1' });
}

async function getSnapshot(ctx: ArmContext): Promise<Reply> {
  const a = address(ctx);
  return json(200, renderSnapshot(ctx, ctx.deps.disks.getSnapshot(a.subscriptionId, a.resourceGroup, a.name)));
}

async function patchSnapshot(ctx: ArmContext): Promise<Reply> {
  const body = await readJsonObject(ctx);
  const change: SnapshotChange = {};
  const sku = skuName(body);
  if (sku !== undefined) change.skuName = sku;
  const tags = field.tags(body, 'tags');
  if (tags !== undefined) change.tags = tags;
  const a = address(ctx);
  return json(200, renderSnapshot(ctx, await ctx.deps.disks.updateSnapshot(a.subscriptionId, a.resourceGroup, a.name, change)));
}

async function deleteSnapshot(ctx: ArmContext): Promise<Reply> {
  const a = address(ctx);
  return { status: (await ctx.deps.disks.deleteSnapshot(a.subscriptionId, a.resourceGroup, a.name, ctx.nowMs)) ? 200 : 204 };
}

async function grantAccess(ctx: ArmContext): Promise<Reply> {
  const request = parseAccess(await readJsonObject(ctx));
  const a = address(ctx);
  return json(200, { accessSAS: await ctx.deps.disks.grantSnapshotAccess(a.subscriptionId, a.resourceGroup, a.name, request, ctx.nowMs) });
}

async function revokeAccess(ctx: ArmContext): Promise<Reply> {
  const a = address(ctx);
  await ctx.deps.disks.revokeSnapshotAccess(a.subscriptionId, a.resourceGroup, a.name, ctx.nowMs);
  return { status: 200 };
}

async function listInGroup(ctx: ArmContext): Promise<Reply> {
  const snapshots = ctx.deps.disks.listSnapshots(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'));
  return json(200, { value: snapshots.map((s) => renderSnapshot(ctx, s)) });
}

async function listInSubscription(ctx: ArmContext): Promise<Reply> {
  return json(200, { value: ctx.deps.disks.listSnapshots(param(ctx, 'subscriptionId')).map((s) => renderSnapshot(ctx, s)) });
}

async function getOperation(ctx: ArmContext): Promise<Reply> {
  const operationId = param(ctx, 'operationId');
  const op = ctx.deps.disks.copyOperation(operationId);
  if (op === undefined) armFail('NotFound', { path: ctx.path });
  const body: JsonObject = {
    id: ctx.path, name: operationId, status: op.status, startTime: formatIso7(op.startMs), percentComplete: op.percentComplete,
  };
  if (op.endMs !== undefined) body.endTime = formatIso7(op.endMs);
  if (op.error !== undefined) body.error = op.error;
  return json(200, body, op.status === 'InProgress' ? { 'Retry-After': '1' } : undefined);
}

function parseSnapshotSpec(body: JsonObject): SnapshotSpec {
  const location = field.string(body, 'location', '');
  if (location === undefined) armFail('MissingRequiredParameter', { target: 'location' });
  const properties = field.object(body, 'properties', '') ?? {};
  const spec: SnapshotSpec = {
    location, creationData: parseCreationData(properties), extras: echoed(properties),
    incremental: field.boolean(properties, 'incremental', 'properties.') ?? false,
  };
  const sku = skuName(body);
  if (sku !== undefined) spec.skuName = sku;
  const tags = field.tags(body, 'tags');
  if (tags !== undefined) spec.tags = tags;
  return spec;
}
