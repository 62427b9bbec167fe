// The Blob REST route table: (level, method, restype, comp, guards) → operation. Spec/blob-rest.md §2.
//
// A request is matched in two steps:
//   1. key = level|method|restype|comp        one Map lookup (built once per handler by compileRoutes)
//   2. the candidates under that key, in table order, until one's guards all hold
//      (guards test a distinguishing header or query parameter: x-ms-blob-type, x-ms-copy-source, …)
// So within one key, more specific routes come first and a guard-less route is the fallback.
//
// Routes without a handler are operations Azure has and Nimbus has not built yet: they answer
// 501 NotImplemented naming the operation, never a silent wrong answer. No key at all means an
// unknown verb for a known resource (405 UnsupportedHttpVerb) or an unknown comp/restype (400).
//
// `anonymous` states the public-access level that lets a request without credentials through
// (auth.ts): 'blob' reads are allowed on containers with public access blob or container,
// 'container' reads only on public access container.

import type { AnonymousAccess } from './auth.js';
import type { IncomingMessage } from 'node:http';
import type { Level, Query, Reply, RequestContext } from './request.js';
import { getAccountInfo, getServiceProperties, listContainers, setServiceProperties } from './handlers/account.js';
import {
  createContainer, deleteContainer, getContainerAcl, getContainerProperties, leaseContainer, listBlobs, setContainerAcl,
  setContainerMetadata,
} from './handlers/container.js';
import { getBlob, getBlobMetadata, getBlobProperties, getBlockList } from './handlers/blob-read.js';
import {
  deleteBlob, leaseBlob, putBlob, putBlobWithoutType, putBlock, putBlockList, setBlobMetadata, setBlobProperties,
} from './handlers/blob-write.js';
import { abortCopy, copyBlob, copyBlobFromUrl, putBlobFromUrl, putBlockFromUrl } from './handlers/blob-copy.js';

export type Handler = (ctx: RequestContext) => Promise<Reply>;

export const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'POST'] as const;
export type Method = (typeof METHODS)[number];

export type Restype = 'service' | 'account' | 'container';

export type Comp =
  | 'list' | 'properties' | 'stats' | 'userdelegationkey' | 'blobs' | 'batch'
  | 'metadata' | 'acl' | 'lease' | 'undelete' | 'rename'
  | 'snapshot' | 'copy' | 'tier' | 'block' | 'blocklist' | 'page' | 'pagelist' | 'incrementalcopy'
  | 'appendblock' | 'seal' | 'tags' | 'expiry' | 'query' | 'immutabilityPolicies' | 'legalhold';

/** Headers and query parameters that tell operations apart when method, restype and comp agree. */
export type RoutingHeader =
  | 'x-ms-blob-type' | 'x-ms-copy-source' | 'x-ms-requires-sync' | 'x-ms-page-write'
  | 'x-ms-blob-content-length' | 'x-ms-sequence-number-action' | 'x-ms-previous-snapshot-url';
export type RoutingQuery = 'snapshot' | 'versionid' | 'deletetype' | 'prevsnapshot';

/** Present (and, with `is`, equal ignoring case). */
export type Guard = { header: RoutingHeader; is?: string } | { query: RoutingQuery };

export interface Route {
  level: Level;
  method: Method;
  restype?: Restype;
  comp?: Comp;
  when?: readonly Guard[];
  /** Azure's name for the operation: logs and 501 messages. */
  operation: string;
  /** Absent: not built yet → 501. */
  handler?: Handler;
  anonymous?: AnonymousAccess;
}

const SNAPSHOT: Guard = { query: 'snapshot' };
const VERSION: Guard = { query: 'versionid' };
const COPY_SOURCE: Guard = { header: 'x-ms-copy-source' };

export const ROUTES = [
  // ---- account: /{account}/
  { level: 'account', method: 'GET', comp: 'list', operation: 'List Containers', handler: listContainers },
  { level: 'account', method: 'GET', restype: 'service', comp: 'properties', operation: 'Get Blob Service Properties', handler: getServiceProperties },
  { level: 'account', method: 'PUT', restype: 'service', comp: 'properties', operation: 'Set Blob Service Properties', handler: setServiceProperties },
  { level: 'account', method: 'GET', restype: 'service', comp: 'stats', operation: 'Get Blob Service Stats' },
  { level: 'account', method: 'POST', restype: 'service', comp: 'userdelegationkey', operation: 'Get User Delegation Key' },
  { level: 'account', method: 'GET', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo },
  { level: 'account', method: 'HEAD', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo },
  { level: 'account', method: 'GET', comp: 'blobs', operation: 'Find Blobs by Tags' },
  { level: 'account', method: 'POST', comp: 'batch', operation: 'Blob Batch' },

  // ---- container: /{account}/{container}?restype=container
  { level: 'container', method: 'PUT', restype: 'container', operation: 'Create Container', handler: createContainer },
  { level: 'container', method: 'GET', restype: 'container', operation: 'Get Container Properties', handler: getContainerProperties, anonymous: 'container' },
  { level: 'container', method: 'HEAD', restype: 'container', operation: 'Get Container Properties', handler: getContainerProperties, anonymous: 'container' },
  { level: 'container', method: 'DELETE', restype: 'container', operation: 'Delete Container', handler: deleteContainer },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'metadata', operation: 'Set Container Metadata', handler: setContainerMetadata },
  { level: 'container', method: 'GET', restype: 'container', comp: 'metadata', operation: 'Get Container Metadata', handler: getContainerProperties, anonymous: 'container' },
  { level: 'container', method: 'HEAD', restype: 'container', comp: 'metadata', operation: 'Get Container Metadata', handler: getContainerProperties, anonymous: 'container' },
  { level: 'container', method: 'GET', restype: 'container', comp: 'acl', operation: 'Get Container ACL', handler: getContainerAcl },
  { level: 'container', method: 'HEAD', restype: 'container', comp: 'acl', operation: 'Get Container ACL', handler: getContainerAcl },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'acl', operation: 'Set Container ACL', handler: setContainerAcl },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'lease', operation: 'Lease Container', handler: leaseContainer },
  { level: 'container', method: 'GET', restype: 'container', comp: 'list', operation: 'List Blobs', handler: listBlobs, anonymous: 'container' },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'undelete', operation: 'Restore Container' },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'rename', operation: 'Rename Container' },
  { level: 'container', method: 'GET', restype: 'container', comp: 'blobs', operation: 'Find Blobs by Tags in Container' },
  { level: 'container', method: 'POST', restype: 'container', comp: 'batch', operation: 'Blob Batch' },
  { level: 'container', method: 'GET', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo },
  { level: 'container', method: 'HEAD', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo },

  // ---- blob: /{account}/{container}/{blob}
  { level: 'blob', method: 'PUT', when: [COPY_SOURCE, { header: 'x-ms-blob-type', is: 'BlockBlob' }], operation: 'Put Blob From URL', handler: putBlobFromUrl },
  { level: 'blob', method: 'PUT', when: [COPY_SOURCE, { header: 'x-ms-requires-sync', is: 'true' }], operation: 'Copy Blob From URL', handler: copyBlobFromUrl },
  { level: 'blob', method: 'PUT', when: [COPY_SOURCE], operation: 'Copy Blob', handler: copyBlob },
  { level: 'blob', method: 'PUT', when: [{ header: 'x-ms-blob-type', is: 'BlockBlob' }], operation: 'Put Blob', handler: putBlob },
  { level: 'blob', method: 'PUT', when: [{ header: 'x-ms-blob-type', is: 'PageBlob' }], operation: 'Put Blob (page blob)' },
  { level: 'blob', method: 'PUT', when: [{ header: 'x-ms-blob-type', is: 'AppendBlob' }], operation: 'Put Blob (append blob)' },
  { level: 'blob', method: 'PUT', operation: 'Put Blob', handler: putBlobWithoutType },

  { level: 'blob', method: 'GET', when: [SNAPSHOT], operation: 'Get Blob (snapshot)' },
  { level: 'blob', method: 'GET', when: [VERSION], operation: 'Get Blob (version)' },
  { level: 'blob', method: 'GET', operation: 'Get Blob', handler: getBlob, anonymous: 'blob' },
  { level: 'blob', method: 'HEAD', when: [SNAPSHOT], operation: 'Get Blob Properties (snapshot)' },
  { level: 'blob', method: 'HEAD', when: [VERSION], operation: 'Get Blob Properties (version)' },
  { level: 'blob', method: 'HEAD', operation: 'Get Blob Properties', handler: getBlobProperties, anonymous: 'blob' },
  { level: 'blob', method: 'DELETE', when: [{ query: 'deletetype' }], operation: 'Delete Blob (permanent)' },
  { level: 'blob', method: 'DELETE', when: [SNAPSHOT], operation: 'Delete Blob (snapshot)' },
  { level: 'blob', method: 'DELETE', when: [VERSION], operation: 'Delete Blob (version)' },
  { level: 'blob', method: 'DELETE', operation: 'Delete Blob', handler: deleteBlob },

  { level: 'blob', method: 'GET', comp: 'metadata', when: [SNAPSHOT], operation: 'Get Blob Metadata (snapshot)' },
  { level: 'blob', method: 'GET', comp: 'metadata', when: [VERSION], operation: 'Get Blob Metadata (version)' },
  { level: 'blob', method: 'GET', comp: 'metadata', operation: 'Get Blob Metadata', handler: getBlobMetadata, anonymous: 'blob' },
  { level: 'blob', method: 'HEAD', comp: 'metadata', when: [SNAPSHOT], operation: 'Get Blob Metadata (snapshot)' },
  { level: 'blob', method: 'HEAD', comp: 'metadata', when: [VERSION], operation: 'Get Blob Metadata (version)' },
  { level: 'blob', method: 'HEAD', comp: 'metadata', operation: 'Get Blob Metadata', handler: getBlobMetadata, anonymous: 'blob' },
  { level: 'blob', method: 'PUT', comp: 'metadata', operation: 'Set Blob Metadata', handler: setBlobMetadata },
  { level: 'blob', method: 'PUT', comp: 'properties', when: [{ header: 'x-ms-blob-content-length' }], operation: 'Resize Page Blob' },
  { level: 'blob', method: 'PUT', comp: 'properties', when: [{ header: 'x-ms-sequence-number-action' }], operation: 'Update Sequence Number' },
  { level: 'blob', method: 'PUT', comp: 'properties', operation: 'Set Blob Properties', handler: setBlobProperties },
  { level: 'blob', method: 'PUT', comp: 'lease', operation: 'Lease Blob', handler: leaseBlob },
  { level: 'blob', method: 'PUT', comp: 'copy', operation: 'Abort Copy Blob', handler: abortCopy },
  { level: 'blob', method: 'PUT', comp: 'undelete', operation: 'Undelete Blob' },
  { level: 'blob', method: 'PUT', comp: 'snapshot', operation: 'Snapshot Blob' },
  { level: 'blob', method: 'PUT', comp: 'tier', operation: 'Set Blob Tier' },

  { level: 'blob', method: 'PUT', comp: 'block', when: [COPY_SOURCE], operation: 'Put Block From URL', handler: putBlockFromUrl },
  { level: 'blob', method: 'PUT', comp: 'block', operation: 'Put Block', handler: putBlock },
  { level: 'blob', method: 'PUT', comp: 'blocklist', operation: 'Put Block List', handler: putBlockList },
  { level: 'blob', method: 'GET', comp: 'blocklist', when: [SNAPSHOT], operation: 'Get Block List (snapshot)' },
  { level: 'blob', method: 'GET', comp: 'blocklist', operation: 'Get Block List', handler: getBlockList, anonymous: 'blob' },

  { level: 'blob', method: 'PUT', comp: 'page', when: [COPY_SOURCE], operation: 'Put Page From URL' },
  { level: 'blob', method: 'PUT', comp: 'page', when: [{ header: 'x-ms-page-write', is: 'clear' }], operation: 'Clear Pages' },
  { level: 'blob', method: 'PUT', comp: 'page', operation: 'Put Page' },
  { level: 'blob', method: 'GET', comp: 'pagelist', when: [{ header: 'x-ms-previous-snapshot-url' }], operation: 'Get Page Ranges Diff (managed disk)' },
  { level: 'blob', method: 'GET', comp: 'pagelist', when: [{ query: 'prevsnapshot' }], operation: 'Get Page Ranges Diff' },
  { level: 'blob', method: 'GET', comp: 'pagelist', operation: 'Get Page Ranges' },
  { level: 'blob', method: 'PUT', comp: 'incrementalcopy', operation: 'Incremental Copy Blob' },
  { level: 'blob', method: 'PUT', comp: 'appendblock', when: [COPY_SOURCE], operation: 'Append Block From URL' },
  { level: 'blob', method: 'PUT', comp: 'appendblock', operation: 'Append Block' },
  { level: 'blob', method: 'PUT', comp: 'seal', operation: 'Seal Append Blob' },
  { level: 'blob', method: 'GET', comp: 'tags', operation: 'Get Blob Tags' },
  { level: 'blob', method: 'PUT', comp: 'tags', operation: 'Set Blob Tags' },
  { level: 'blob', method: 'PUT', comp: 'expiry', operation: 'Set Blob Expiry' },
  { level: 'blob', method: 'POST', comp: 'query', operation: 'Query Blob Contents' },
  { level: 'blob', method: 'PUT', comp: 'immutabilityPolicies', operation: 'Set Blob Immutability Policy' },
  { level: 'blob', method: 'DELETE', comp: 'immutabilityPolicies', operation: 'Delete Blob Immutability Policy' },
  { level: 'blob', method: 'PUT', comp: 'legalhold', operation: 'Set Blob Legal Hold' },
  { level: 'blob', method: 'GET', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo },
  { level: 'blob', method: 'HEAD', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo },
] as const satisfies readonly Route[];

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

export interface RouteTable {
  /** level|method|restype|comp → candidates in table order. */
  readonly byKey: ReadonlyMap<string, readonly Route[]>;
  /** level|restype|comp of every route: tells "wrong verb" (405) from "unknown operation" (400). */
  readonly resources: ReadonlySet<string>;
}

export function compileRoutes(routes: readonly Route[]): RouteTable {
  const byKey = new Map<string, Route[]>();
  const resources = new Set<string>();
  for (const route of routes) {
    const key = routeKey(route.level, route.method, route.restype, route.comp);
    const candidates = byKey.get(key) ?? [];
    candidates.push(route);
    byKey.set(key, candidates);
    resources.add(resourceKey(route.level, route.restype, route.comp));
  }
  return { byKey, resources };
}

export function routeKey(level: Level, method: string, restype: string | undefined, comp: string | undefined): string {
  return `${level}|${method}|${restype ?? ''}|${comp ?? ''}`;
}

export function resourceKey(level: Level, restype: string | undefined, comp: string | undefined): string {
  return `${level}|${restype ?? ''}|${comp ?? ''}`;
}

export type RouteMatch =
  | { kind: 'route'; route: Route }
  | { kind: 'verb-not-allowed' }
  | { kind: 'unknown' };

export function matchRoute(table: RouteTable, level: Level, method: string, query: Query, req: IncomingMessage): RouteMatch {
  const { restype, comp } = query.values;
  const candidates = table.byKey.get(routeKey(level, method, restype, comp));
  if (candidates !== undefined) {
    for (const route of candidates) {
      if (route.when === undefined || route.when.every((guard) => guardHolds(guard, query, req))) return { kind: 'route', route };
    }
    return { kind: 'unknown' };
  }
  return table.resources.has(resourceKey(level, restype, comp)) ? { kind: 'verb-not-allowed' } : { kind: 'unknown' };
}

function guardHolds(guard: Guard, query: Query, req: IncomingMessage): boolean {
  if ('query' in guard) return query.values[guard.query] !== undefined;
  const value = req.headers[guard.header];
  if (typeof value !== 'string') return false;
  return guard.is === undefined || value.toLowerCase() === guard.is.toLowerCase();
}
