// Role assignments: who holds which built-in role at which scope, and the one question the data plane
// asks: "does principal P hold permission X at target T?". Follows
// https://learn.microsoft.com/rest/api/authorization/role-assignments (2022-04-01) and
// spec/versioning-softdelete.md §9.
//
// Stored as ONE document in the MetaStore settings table, scope '$authz' (no account name starts with
// '$'), key 'roleAssignments':
//
//   { "formatVersion": 1, "assignments": [RoleAssignmentRecord, …] }
//
// Separate from the management state document ('$accounts') because the two change independently and
// neither needs the other's transaction. A development cloud has tens of assignments; every check scans
// them (no index), which costs microseconds.
//
// Invariants:
// - Mutations run one at a time (a promise chain), each in one MetaStore write; the in-memory copy is
//   replaced only after the write commits, so a check never sees an assignment that is not durable.
// - Assignment names are GUIDs, unique across scopes; (principal, role, scope) is unique too
//   (Azure: 409 RoleAssignmentExists). An assignment cannot be changed in place
//   (409 RoleAssignmentUpdateNotPermitted): delete it and create another.
// - Implicit owners (the development identity, see README "Bearer tokens and RBAC") hold Storage Blob
//   Data Owner everywhere without a stored assignment; they are never listed.
// - Nimbus does not check that the resource at a scope exists: assigning a role on a container before
//   creating it is allowed, and deleting an account leaves its assignments (Azure also keeps orphans
//   until someone removes them).
import type { Json, MetaStore } from '../engine/meta/meta-store.js';
import { authzFail } from './errors.js';
import { roleById, roleGrants, type Permission, type RoleDefinition } from './roles.js';
import { encloses, normalizeScope, scopeKey } from './scopes.js';

const SETTINGS_SCOPE = '$authz';
const SETTINGS_KEY = 'roleAssignments';
const FORMAT_VERSION = 1;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface RoleAssignmentRecord {
  /** GUID; the last segment of the assignment's id. */
  name: string;
  /** As first created (display casing); compared case-insensitively. */
  scope: string;
  /** The role's GUID. */
  roleId: string;
  principalId: string;
  principalType: string;
  description: string | null;
  createdMs: number;
}

export interface RoleAssignmentSpec {
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  description?: string;
}

/**
 * The `$filter` forms the SDKs send, parsed: `atScope()` (only assignments at or above the scope) and
 * `principalId eq '…'` / `assignedTo('…')` (only that principal's).
 */
export interface RoleAssignmentFilter {
  atScope: boolean;
  principalId?: string;
}

interface StoredAssignments {
  formatVersion: number;
  assignments: RoleAssignmentRecord[];
}

export class RoleAssignments {
  #current: readonly RoleAssignmentRecord[];
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly meta: MetaStore,
    private readonly implicitOwners: ReadonlySet<string>,
    initial: readonly RoleAssignmentRecord[],
  ) {
    this.#current = initial;
  }

  static async open(meta: MetaStore, implicitOwners: readonly string[]): Promise<RoleAssignments> {
    const stored = await meta.read((tx) => tx.getSetting(SETTINGS_SCOPE, SETTINGS_KEY));
    const owners = new Set(implicitOwners.map((id) => id.toLowerCase()));
    return new RoleAssignments(meta, owners, decode(stored));
  }

  /** Whether `principalId` holds `permission` at `targetScope` through any enclosing assignment. */
  allows(principalId: string, targetScope: string, permission: Permission): boolean {
    const principal = principalId.toLowerCase();
    if (this.implicitOwners.has(principal)) return true;
    return this.#current.some((assignment) => {
      if (assignment.principalId.toLowerCase() !== principal || !encloses(assignment.scope, targetScope)) return false;
      const role = roleById(assignment.roleId);
      return role !== undefined && roleGrants(role, permission);
    });
  }

  get(scope: string, name: string): RoleAssignmentRecord {
    const found = this.#find(name);
    if (found === undefined || scopeKey(found.scope) !== scopeKey(scope)) authzFail('RoleAssignmentNotFound', { name });
    return found;
  }

  /**
   * Assignments that apply at `scope` (at it or above) and, unless the filter is atScope(), those
   * below it, as ARM's list-for-scope answers.
   */
  list(scope: string, filter: RoleAssignmentFilter): RoleAssignmentRecord[] {
    const principal = filter.principalId?.toLowerCase();
    return this.#current.filter((a) => {
      if (principal !== undefined && a.principalId !== principal) return false;
      return encloses(a.scope, scope) || (!filter.atScope && encloses(scope, a.scope));
    });
  }

  /** PUT: creates the assignment; re-putting identical content answers the existing one. */
  createOrUpdate(
    scope: string,
    name: string,
    spec: RoleAssignmentSpec,
    nowMs: number,
  ): Promise<{ assignment: RoleAssignmentRecord; created: boolean }> {
    if (!GUID.test(name)) authzFail('InvalidRoleAssignmentId', { name });
    if (!GUID.test(spec.principalId)) authzFail('InvalidPrincipalId', { principalId: spec.principalId });
    const role = roleFromId(spec.roleDefinitionId);
    return this.#mutate((draft) => {
      const existing = draft.find((a) => a.name.toLowerCase() === name.toLowerCase());
      if (existing !== undefined) {
        const same = scopeKey(existing.scope) === scopeKey(scope) && existing.roleId === role.id
          && existing.principalId.toLowerCase() === spec.principalId.toLowerCase();
        if (!same) authzFail('RoleAssignmentUpdateNotPermitted', { name });
        return { assignment: existing, created: false };
      }
      const duplicate = draft.find((a) => scopeKey(a.scope) === scopeKey(scope) && a.roleId === role.id
        && a.principalId.toLowerCase() === spec.principalId.toLowerCase());
      if (duplicate !== undefined) authzFail('RoleAssignmentExists', { name: duplicate.name });
      const assignment: RoleAssignmentRecord = {
        name: name.toLowerCase(), scope: normalizeScope(scope), roleId: role.id, principalId: spec.principalId.toLowerCase(),
        principalType: spec.principalType ?? 'ServicePrincipal', description: spec.description ?? null,
        createdMs: nowMs,
      };
      draft.push(assignment);
      return { assignment, created: true };
    });
  }

  /** DELETE: the removed assignment, or undefined when there was none at that scope. */
  delete(scope: string, name: string): Promise<RoleAssignmentRecord | undefined> {
    const found = this.#find(name);
    if (found === undefined || scopeKey(found.scope) !== scopeKey(scope)) return Promise.resolve(undefined);
    return this.#mutate((draft) => {
      const index = draft.findIndex((a) => a.name === found.name);
      const [removed] = index < 0 ? [] : draft.splice(index, 1);
      return removed;
    });
  }

  #find(name: string): RoleAssignmentRecord | undefined {
    const key = name.toLowerCase();
    return this.#current.find((a) => a.name === key);
  }

  #mutate<T>(change: (draft: RoleAssignmentRecord[]) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const draft = [...this.#current];
      const result = change(draft);
      await this.meta.write((tx) => tx.putSetting(SETTINGS_SCOPE, SETTINGS_KEY, encode(draft)));
      this.#current = draft;
      return result;
    };
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * `roleDefinitionId` as ARM sends it: `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}`,
 * `/providers/Microsoft.Authorization/roleDefinitions/{guid}`, or the bare GUID.
 */
export function roleFromId(roleDefinitionId: string): RoleDefinition {
  const guid = roleDefinitionId.replace(/\/+$/, '').split('/').pop() ?? '';
  const role = roleById(guid);
  if (role === undefined) authzFail('RoleDefinitionDoesNotExist', { roleDefinitionId });
  return role;
}

function decode(stored: Json | undefined): RoleAssignmentRecord[] {
  if (stored === undefined || stored === null) return [];
  const state = stored as unknown as StoredAssignments;
  if (state.formatVersion !== FORMAT_VERSION) {
    throw new Error(`role assignments: unknown format version ${String(state.formatVersion)} (this Nimbus reads ${FORMAT_VERSION})`);
  }
  return state.assignments;
}

function encode(assignments: readonly RoleAssignmentRecord[]): Json {
  const stored: StoredAssignments = { formatVersion: FORMAT_VERSION, assignments: [...assignments] };
  return stored as unknown as Json;
}
