// Microsoft.Authorization/roleDefinitions over ARM, read-only
// (https://learn.microsoft.com/rest/api/authorization/role-definitions): the built-in Storage Blob Data
// roles (authz/roles.ts), visible at every scope role assignments accept and at the root.
//
//   GET  {scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}
//   GET  {scope}/providers/Microsoft.Authorization/roleDefinitions       ?$filter=roleName eq '…' | type eq 'BuiltInRole'
//
// Creating custom roles (PUT) is not supported: 405.
// Also the scope helpers both Microsoft.Authorization resources share.
import { BUILT_IN_ROLES, roleById, type RoleDefinition } from '../../authz/roles.js';
import { armFail } from '../errors.js';
import { json, type ArmContext, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';

const RESOURCE_GROUP = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}';
const ACCOUNT = `${RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/{accountName}`;

/** Route prefixes of the scopes role assignments can be made at (authz/scopes.ts). */
export const ROLE_SCOPES = [
  '/subscriptions/{subscriptionId}',
  RESOURCE_GROUP,
  ACCOUNT,
  `${ACCOUNT}/blobServices/default`,
  `${ACCOUNT}/blobServices/default/containers/{containerName}`,
] as const;

const DEFINITIONS = '/providers/Microsoft.Authorization/roleDefinitions';
const PROVIDER_MARKER = '/providers/microsoft.authorization/';

export const ROLE_DEFINITION_ROUTES = ['', ...ROLE_SCOPES].flatMap((scope) => [
  { method: 'GET', path: `${scope}${DEFINITIONS}/{roleDefinitionId}`, kind: 'arm', handler: getDefinition },
  { method: 'GET', path: `${scope}${DEFINITIONS}`, kind: 'arm', handler: listDefinitions },
] as const satisfies readonly RouteDef[]);

/** The scope part of the request path (before `/providers/Microsoft.Authorization/`), decoded, as sent. */
export function scopeOfRequest(ctx: ArmContext): string {
  const path = ctx.path.replace(/\/{2,}/g, '/');
  const at = path.toLowerCase().indexOf(PROVIDER_MARKER);
  const raw = at < 0 ? path : path.slice(0, at);
  try {
    return decodeURIComponent(raw);
  } catch {
    return armFail('InvalidRequestFormat', { detail: 'the scope is not correctly percent-encoded.' });
  }
}

/** `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{id}` (the root form without a subscription). */
export function roleDefinitionResourceId(scope: string, roleId: string): string {
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
  return subscription === undefined ? `${DEFINITIONS}/${roleId}` : `/subscriptions/${subscription}${DEFINITIONS}/${roleId}`;
}

function renderDefinition(scope: string, role: RoleDefinition): JsonValue {
  return {
    id: roleDefinitionResourceId(scope, role.id),
    name: role.id,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: role.roleName,
      type: 'BuiltInRole',
      description: role.description,
      assignableScopes: ['/'],
      permissions: [{
        actions: [...role.permissions.actions],
        notActions: [...role.permissions.notActions],
        dataActions: [...role.permissions.dataActions],
        notDataActions: [...role.permissions.notDataActions],
      }],
      createdOn: null,
      updatedOn: null,
      createdBy: null,
      updatedBy: null,
    },
  };
}

async function getDefinition(ctx: ArmContext): Promise<Reply> {
  const id = ctx.params.roleDefinitionId ?? '';
  const role = roleById(id);
  if (role === undefined) armFail('RoleDefinitionDoesNotExist', { roleDefinitionId: id });
  return json(200, renderDefinition(scopeOfRequest(ctx), role));
}

async function listDefinitions(ctx: ArmContext): Promise<Reply> {
  const filter = ctx.query.get('$filter') ?? '';
  const roleName = /roleName\s+eq\s+'([^']*)'/i.exec(filter)?.[1];
  const customOnly = /type\s+eq\s+'CustomRole'/i.test(filter);
  const roles = BUILT_IN_ROLES.filter((role) => !customOnly && (roleName === undefined || role.roleName.toLowerCase() === roleName.toLowerCase()));
  const scope = scopeOfRequest(ctx);
  return json(200, { value: roles.map((role) => renderDefinition(scope, role)) });
}
