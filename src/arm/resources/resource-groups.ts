// Resource groups over ARM (https://learn.microsoft.com/rest/api/resources/resource-groups): PUT
// (201 created / 200 updated), GET, HEAD (check existence: 204 / 404), PATCH (tags), DELETE, list.
// DELETE answers synchronously (200) once the group, its storage accounts and their data are gone; a
// missing group is 404 ResourceGroupNotFound, as in Azure. Rules live in src/accounts/resource-groups.ts.
import type { ResourceGroupRecord } from '../../accounts/model.js';
import { armFail } from '../errors.js';
import { field, json, param, readJsonObject, resourceGroupId, type ArmContext, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';

const GROUP = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}';

export const RESOURCE_GROUP_ROUTES = [
  { method: 'GET', path: '/subscriptions/{subscriptionId}/resourcegroups', kind: 'arm', handler: listGroups },
  { method: 'PUT', path: GROUP, kind: 'arm', handler: putGroup },
  { method: 'GET', path: GROUP, kind: 'arm', handler: getGroup },
  { method: 'HEAD', path: GROUP, kind: 'arm', handler: headGroup },
  { method: 'PATCH', path: GROUP, kind: 'arm', handler: patchGroup },
  { method: 'DELETE', path: GROUP, kind: 'arm', handler: deleteGroup },
] as const satisfies readonly RouteDef[];

export function renderGroup(group: ResourceGroupRecord): JsonValue {
  return {
    id: resourceGroupId(group.subscriptionId, group.name),
    name: group.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: group.location,
    tags: group.tags,
    properties: { provisioningState: 'Succeeded' },
  };
}

async function listGroups(ctx: ArmContext): Promise<Reply> {
  return json(200, { value: ctx.deps.groups.list(param(ctx, 'subscriptionId')).map(renderGroup) });
}

async function putGroup(ctx: ArmContext): Promise<Reply> {
  const body = await readJsonObject(ctx);
  const location = field.string(body, 'location', '');
  if (location === undefined) armFail('MissingRequiredParameter', { target: 'location' });
  const tags = field.tags(body, 'tags');
  const { group, created } = await ctx.deps.groups.createOrUpdate(
    param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'), tags ? { location, tags } : { location }, ctx.nowMs,
  );
  return json(created ? 201 : 200, renderGroup(group));
}

async function getGroup(ctx: ArmContext): Promise<Reply> {
  return json(200, renderGroup(ctx.deps.groups.get(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'))));
}

async function headGroup(ctx: ArmContext): Promise<Reply> {
  const found = ctx.deps.groups.find(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'));
  return { status: found ? 204 : 404 };
}

async function patchGroup(ctx: ArmContext): Promise<Reply> {
  const body = await readJsonObject(ctx);
  const current = ctx.deps.groups.get(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'));
  const tags = field.tags(body, 'tags') ?? current.tags;
  const { group } = await ctx.deps.groups.createOrUpdate(current.subscriptionId, current.name, { location: current.location, tags }, ctx.nowMs);
  return json(200, renderGroup(group));
}

async function deleteGroup(ctx: ArmContext): Promise<Reply> {
  const subscriptionId = param(ctx, 'subscriptionId');
  const name = param(ctx, 'resourceGroupName');
  const existed = await ctx.deps.groups.delete(subscriptionId, name);
  if (!existed) armFail('ResourceGroupNotFound', { resourceGroup: name });
  return { status: 200 };
}
