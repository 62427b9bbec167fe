// Microsoft.Authorization/roleAssignments over ARM
// (https://learn.microsoft.com/rest/api/authorization/role-assignments, api-version 2022-04-01):
//
//   PUT     {scope}/providers/Microsoft.Authorization/roleAssignments/{name}   body { properties: { roleDefinitionId, principalId, principalType?, description? } }
//   GET     {scope}/providers/Microsoft.Authorization/roleAssignments/{name}
//   DELETE  {scope}/providers/Microsoft.Authorization/roleAssignments/{name}   200 with the assignment, 204 when none
//   GET     {scope}/providers/Microsoft.Authorization/roleAssignments          ?$filter=atScope() | principalId eq '…' | assignedTo('…')
//
// {scope} is a subscription, resource group, storage account, its blobServices/default, or one of its
// containers (authz/scopes.ts); the route table has one row per shape, because ARM routes are
// fixed-length patterns. The scope keeps the caller's casing. Rules live in authz/role-assignments.ts;
// the management plane itself has no RBAC yet (any valid management token may assign any role).
import type { RoleAssignmentFilter, RoleAssignmentRecord } from '../../authz/role-assignments.js';
import { normalizeScope } from '../../authz/scopes.js';
import { armFail } from '../errors.js';
import { field, json, readJsonObject, type ArmContext, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';
import { ROLE_SCOPES, roleDefinitionResourceId, scopeOfRequest } from './role-definitions.js';

const ASSIGNMENTS = '/providers/Microsoft.Authorization/roleAssignments';

export const ROLE_ASSIGNMENT_ROUTES = ROLE_SCOPES.flatMap((scope) => [
  { method: 'PUT', path: `${scope}${ASSIGNMENTS}/{roleAssignmentName}`, kind: 'arm', handler: putAssignment },
  { method: 'GET', path: `${scope}${ASSIGNMENTS}/{roleAssignmentName}`, kind: 'arm', handler: getAssignment },
  { method: 'DELETE', path: `${scope}${ASSIGNMENTS}/{roleAssignmentName}`, kind: 'arm', handler: deleteAssignment },
  { method: 'GET', path: `${scope}${ASSIGNMENTS}`, kind: 'arm', handler: listAssignments },
] as const satisfies readonly RouteDef[]);

function renderAssignment(a: RoleAssignmentRecord): JsonValue {
  const created = new Date(a.createdMs).toISOString();
  return {
    id: `${a.scope}${ASSIGNMENTS}/${a.name}`,
    name: a.name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: roleDefinitionResourceId(a.scope, a.roleId),
      principalId: a.principalId,
      principalType: a.principalType,
      scope: a.scope,
      description: a.description,
      condition: null,
      conditionVersion: null,
      createdOn: created,
      updatedOn: created,
      createdBy: null,
      updatedBy: null,
      delegatedManagedIdentityResourceId: null,
    },
  };
}

function nameOf(ctx: ArmContext): string {
  const name = ctx.params.roleAssignmentName;
  if (name === undefined) armFail('InternalServerError', { detail: 'route has no roleAssignmentName' });
  return name;
}

async function putAssignment(ctx: ArmContext): Promise<Reply> {
  const body = await readJsonObject(ctx);
  const properties = field.object(body, 'properties', '') ?? {};
  const roleDefinitionId = field.string(properties, 'roleDefinitionId', 'properties.');
  if (roleDefinitionId === undefined) armFail('MissingRequiredParameter', { target: 'properties.roleDefinitionId' });
  const principalId = field.string(properties, 'principalId', 'properties.');
  if (principalId === undefined) armFail('MissingRequiredParameter', { target: 'properties.principalId' });
  const principalType = field.string(properties, 'principalType', 'properties.');
  const description = field.string(properties, 'description', 'properties.');
  const spec = {
    roleDefinitionId, principalId,
    ...(principalType === undefined ? {} : { principalType }),
    ...(description === undefined ? {} : { description }),
  };
  const { assignment, created } = await ctx.deps.roleAssignments.createOrUpdate(scopeOfRequest(ctx), nameOf(ctx), spec, ctx.nowMs);
  return json(created ? 201 : 200, renderAssignment(assignment));
}

async function getAssignment(ctx: ArmContext): Promise<Reply> {
  return json(200, renderAssignment(ctx.deps.roleAssignments.get(scopeOfRequest(ctx), nameOf(ctx))));
}

async function deleteAssignment(ctx: ArmContext): Promise<Reply> {
  const removed = await ctx.deps.roleAssignments.delete(scopeOfRequest(ctx), nameOf(ctx));
  return removed === undefined ? { status: 204 } : json(200, renderAssignment(removed));
}

async function listAssignments(ctx: ArmContext): Promise<Reply> {
  const filter = parseFilter(ctx.query.get('$filter'));
  const scope = normalizeScope(scopeOfRequest(ctx));
  return json(200, { value: ctx.deps.roleAssignments.list(scope, filter).map(renderAssignment) });
}

/** `atScope()`, `principalId eq 'x'`, `assignedTo('x')`, joined by `and`; anything else is refused. */
function parseFilter(text: string | null): RoleAssignmentFilter {
  const filter: RoleAssignmentFilter = { atScope: false };
  if (text === null || text.trim() === '') return filter;
  for (const term of text.split(/\s+and\s+/i)) {
    const trimmed = term.trim();
    const principal = /^(?:principalId\s+eq\s+'([^']*)'|assignedTo\('([^']*)'\))$/i.exec(trimmed);
    if (/^atScope\(\)$/i.test(trimmed)) filter.atScope = true;
    else if (principal !== null) filter.principalId = principal[1] ?? principal[2] ?? '';
    else armFail('UnsupportedRoleAssignmentFilter', { filter: text });
  }
  return filter;
}
