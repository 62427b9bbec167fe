// The ARM route table: method + path pattern → handler, one table for the whole management endpoint.
// Each resource type contributes its rows from its own file (resources/*.ts, oauth.ts); this file only
// joins them, compiles the patterns once and matches requests.
//
//   kind 'arm'       Resource Manager operations: bearer token required, `api-version` required
//   kind 'identity'  the token issuer (token endpoint, OpenID metadata, keys): anonymous, no api-version
//
// Patterns are `/`-separated segments; `{name}` captures one segment (URL-decoded). Literal segments
// compare case-insensitively, as ARM compares namespaces, types and names. Two rows never match the same
// path and method (checked when the table is compiled), so order does not matter.
import type { ArmContext, Reply } from './context.js';
import { OAUTH_ROUTES } from './oauth.js';
import { BLOB_SERVICE_ROUTES } from './resources/blob-services.js';
import { DISK_ROUTES } from './resources/disks.js';
import { SNAPSHOT_ROUTES } from './resources/snapshots.js';
import { MANAGEMENT_POLICY_ROUTES } from './resources/management-policies.js';
import { RESOURCE_GROUP_ROUTES } from './resources/resource-groups.js';
import { ROLE_ASSIGNMENT_ROUTES } from './resources/role-assignments.js';
import { ROLE_DEFINITION_ROUTES } from './resources/role-definitions.js';
import { STORAGE_ACCOUNT_ROUTES } from './resources/storage-accounts.js';
import { SUBSCRIPTION_ROUTES } from './resources/subscriptions.js';
import { USAGE_ROUTES } from './resources/usage.js';
import { AVAILABILITY_SET_ROUTES } from './resources/availability-sets.js';
import { VIRTUAL_MACHINE_ROUTES } from './resources/virtual-machines.js';
import { MAINTENANCE_ROUTES } from './resources/maintenance.js';

export type Method = 'GET' | 'HEAD' | 'PUT' | 'PATCH' | 'DELETE' | 'POST';

export interface RouteDef {
  method: Method;
  path: string;
  kind: 'arm' | 'identity';
  handler: (ctx: ArmContext) => Promise<Reply>;
}

type Segment = { literal: string } | { param: string };

interface CompiledRoute extends RouteDef {
  segments: Segment[];
}

export type RouteMatch =
  | { kind: 'route'; route: RouteDef; params: Record<string, string> }
  | { kind: 'method-not-allowed' }
  | { kind: 'not-found' };

export const ROUTES: readonly RouteDef[] = [
  ...OAUTH_ROUTES,
  ...SUBSCRIPTION_ROUTES,
  ...RESOURCE_GROUP_ROUTES,
  ...STORAGE_ACCOUNT_ROUTES,
  ...BLOB_SERVICE_ROUTES,
  ...MANAGEMENT_POLICY_ROUTES,
  ...USAGE_ROUTES,
  ...ROLE_ASSIGNMENT_ROUTES,
  ...ROLE_DEFINITION_ROUTES,
  ...DISK_ROUTES,
  ...SNAPSHOT_ROUTES,
  ...AVAILABILITY_SET_ROUTES,
  ...VIRTUAL_MACHINE_ROUTES,
  ...MAINTENANCE_ROUTES,
];

export class RouteTable {
  readonly #routes: CompiledRoute[];

  constructor(routes: readonly RouteDef[]) {
    this.#routes = routes.map((route) => ({ ...route, segments: compile(route.path) }));
    checkNoOverlap(this.#routes);
  }

  match(method: string, path: string): RouteMatch {
    const parts = splitPath(path);
    if (parts === undefined) return { kind: 'not-found' };
    let pathMatched = false;
    for (const route of this.#routes) {
      const params = matchSegments(route.segments, parts);
      if (params === undefined) continue;
      if (route.method === method) return { kind: 'route', route, params };
      pathMatched = true;
    }
    return pathMatched ? { kind: 'method-not-allowed' } : { kind: 'not-found' };
  }
}

function compile(path: string): Segment[] {
  return path.split('/').filter((s) => s !== '').map((s) =>
    s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s.toLowerCase() });
}

/** Path segments, URL-decoded; undefined when a segment's escaping is broken. */
function splitPath(path: string): string[] | undefined {
  try {
    return path.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const part = parts[i];
    if (segment === undefined || part === undefined) return undefined;
    if ('literal' in segment) {
      if (segment.literal !== part.toLowerCase()) return undefined;
    } else {
      params[segment.param] = part;
    }
  }
  return params;
}

/** Two patterns overlap when every segment pair is equal literals or involves a parameter. */
function checkNoOverlap(routes: readonly CompiledRoute[]): void {
  for (let i = 0; i < routes.length; i++) {
    for (let j = i + 1; j < routes.length; j++) {
      const a = routes[i];
      const b = routes[j];
      if (!a || !b || a.method !== b.method || a.segments.length !== b.segments.length) continue;
      const overlap = a.segments.every((s, k) => {
        const t = b.segments[k];
        return t !== undefined && (!('literal' in s) || !('literal' in t) || s.literal === t.literal);
      });
      // Literal-vs-parameter overlaps are allowed only where the literal side is more specific; the
      // table has none, so any overlap is a mistake in a resource file.
      if (overlap) throw new Error(`ARM routes overlap: ${a.method} ${a.path} and ${b.path}`);
    }
  }
}
