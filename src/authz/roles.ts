// The built-in roles Nimbus knows and how a role's permission lists decide one permission.
// Follows "Azure built-in roles for Storage"
// (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage) and
// spec/versioning-softdelete.md §9: the three Storage Blob Data roles, with Azure's role ids (a role
// assignment names its role by id, so scripts written against Azure work unchanged).
//
// A permission is either an *action* (control plane words the blob endpoint also checks: container
// read/write/delete, generateUserDelegationKey) or a *dataAction* (blob contents). A role grants it
// when some pattern in the matching list (`actions` / `dataActions`) matches and none in the
// exclusion list (`notActions` / `notDataActions`) does. Patterns compare case-insensitively and `*`
// matches any run of characters, as in Azure role definitions.
//
// Custom roles are not supported yet: roleDefinitionId must name one of these.

export type PermissionKind = 'action' | 'dataAction';

export interface Permission {
  kind: PermissionKind;
  /** e.g. `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read` */
  name: string;
}

export interface RolePermissions {
  actions: readonly string[];
  notActions: readonly string[];
  dataActions: readonly string[];
  notDataActions: readonly string[];
}

export interface RoleDefinition {
  /** The role's GUID (the last segment of roleDefinitionId). */
  id: string;
  roleName: string;
  description: string;
  permissions: RolePermissions;
}

const BLOB_SERVICES = 'Microsoft.Storage/storageAccounts/blobServices';
const CONTAINERS = `${BLOB_SERVICES}/containers`;
const BLOBS = `${CONTAINERS}/blobs`;

/** The permissions the blob endpoint asks for (routes.ts `dataAction`). */
export const BLOB_PERMISSIONS = {
  containerRead: { kind: 'action', name: `${CONTAINERS}/read` },
  containerWrite: { kind: 'action', name: `${CONTAINERS}/write` },
  containerDelete: { kind: 'action', name: `${CONTAINERS}/delete` },
  serviceRead: { kind: 'action', name: `${BLOB_SERVICES}/read` },
  serviceWrite: { kind: 'action', name: `${BLOB_SERVICES}/write` },
  generateUserDelegationKey: { kind: 'action', name: `${BLOB_SERVICES}/generateUserDelegationKey/action` },
  blobRead: { kind: 'dataAction', name: `${BLOBS}/read` },
  blobWrite: { kind: 'dataAction', name: `${BLOBS}/write` },
  blobAdd: { kind: 'dataAction', name: `${BLOBS}/add/action` },
  blobDelete: { kind: 'dataAction', name: `${BLOBS}/delete` },
  blobDeleteVersion: { kind: 'dataAction', name: `${BLOBS}/deleteBlobVersion/action` },
  blobPermanentDelete: { kind: 'dataAction', name: `${BLOBS}/permanentDelete/action` },
  blobTagsRead: { kind: 'dataAction', name: `${BLOBS}/tags/read` },
  blobTagsWrite: { kind: 'dataAction', name: `${BLOBS}/tags/write` },
  blobFilter: { kind: 'dataAction', name: `${BLOBS}/filter/action` },
} as const satisfies Record<string, Permission>;

export const STORAGE_BLOB_DATA_OWNER_ID = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b';
export const STORAGE_BLOB_DATA_CONTRIBUTOR_ID = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe';
export const STORAGE_BLOB_DATA_READER_ID = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1';

export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  {
    id: STORAGE_BLOB_DATA_OWNER_ID,
    roleName: 'Storage Blob Data Owner',
    description: 'Provides full access to Azure Storage blob containers and data, including assigning POSIX access control.',
    permissions: {
      actions: [`${CONTAINERS}/*`, `${BLOB_SERVICES}/generateUserDelegationKey/action`],
      notActions: [],
      dataActions: [`${BLOBS}/*`],
      notDataActions: [],
    },
  },
  {
    id: STORAGE_BLOB_DATA_CONTRIBUTOR_ID,
    roleName: 'Storage Blob Data Contributor',
    description: 'Allows for read, write and delete access to Azure Storage blob containers and data',
    permissions: {
      actions: [`${CONTAINERS}/delete`, `${CONTAINERS}/read`, `${CONTAINERS}/write`, `${BLOB_SERVICES}/generateUserDelegationKey/action`],
      notActions: [],
      dataActions: [`${BLOBS}/delete`, `${BLOBS}/read`, `${BLOBS}/write`, `${BLOBS}/move/action`, `${BLOBS}/add/action`],
      notDataActions: [],
    },
  },
  {
    id: STORAGE_BLOB_DATA_READER_ID,
    roleName: 'Storage Blob Data Reader',
    description: 'Allows for read access to Azure Storage blob containers and data',
    permissions: {
      actions: [`${CONTAINERS}/read`, `${BLOB_SERVICES}/generateUserDelegationKey/action`],
      notActions: [],
      dataActions: [`${BLOBS}/read`],
      notDataActions: [],
    },
  },
];

const ROLES_BY_ID: ReadonlyMap<string, RoleDefinition> = new Map(BUILT_IN_ROLES.map((role) => [role.id, role]));

export function roleById(id: string): RoleDefinition | undefined {
  return ROLES_BY_ID.get(id.toLowerCase());
}

/** Whether `role` grants `permission`: some allow pattern matches, no deny pattern does. */
export function roleGrants(role: RoleDefinition, permission: Permission): boolean {
  const { actions, notActions, dataActions, notDataActions } = role.permissions;
  const [allow, deny] = permission.kind === 'action' ? [actions, notActions] : [dataActions, notDataActions];
  return allow.some((pattern) => matches(pattern, permission.name)) && !deny.some((pattern) => matches(pattern, permission.name));
}

/** Azure's wildcard match: case-insensitive, `*` = any run of characters (including `/`). */
function matches(pattern: string, name: string): boolean {
  const parts = pattern.toLowerCase().split('*');
  const text = name.toLowerCase();
  if (parts.length === 1) return parts[0] === text;
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!text.startsWith(first) || !text.endsWith(last) || text.length < first.length + last.length) return false;
  let position = first.length;
  for (const middle of parts.slice(1, -1)) {
    const found = text.indexOf(middle, position);
    if (found < 0 || found + middle.length > text.length - last.length) return false;
    position = found + middle.length;
  }
  return true;
}
