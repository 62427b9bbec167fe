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
// `dataAction` is what a bearer token's principal (or a user delegation SAS's `skoid`) must hold through
// a role assignment (authz/roles.ts names, spec/versioning-softdelete.md §9), checked at the
// container's scope for container and blob operations and at the account's for account operations.
// No `dataAction`: no bearer token can run the operation. `bearerOnly`: Shared Key and SAS cannot.
//
// `anonymous` states the public-access level that lets a request without credentials through
// (auth.ts): 'blob' reads are allowed on containers with public access blob or container,
// 'container' reads only on public access container.

import type { AnonymousAccess } from './auth.js';
import type { SasPermission } from '../../azure-wire/sas.js';
import { BLOB_PERMISSIONS as P, type Permission } from '../../authz/roles.js';
import type { IncomingMessage } from 'node:http';
import type { Level, Query, Reply, RequestContext } from './request.js';
import { getAccountInfo, getServiceProperties, listContainers, setServiceProperties } from './handlers/account.js';
import {
  createContainer, deleteContainer, getContainerAcl, getContainerProperties, leaseContainer, listBlobs, restoreContainer, setContainerAcl,
  setContainerMetadata,
} from './handlers/container.js';
import { getBlob, getBlobMetadata, getBlobProperties, getBlockList } from './handlers/blob-read.js';
import {
  deleteBlob, leaseBlob, putBlob, putBlobWithoutType, putBlock, putBlockList, setBlobMetadata, setBlobProperties, snapshotBlob,
  undeleteBlob, setBlobTier,
} from './handlers/blob-write.js';
import { abortCopy, copyBlob, copyBlobFromUrl, incrementalCopyBlob, putBlobFromUrl, putBlockFromUrl } from './handlers/blob-copy.js';
import { createPageBlob, getPageRanges, putPage, resizePageBlob, updateSequenceNumber } from './handlers/page-blob.js';
import { appendBlock, createAppendBlob, sealAppendBlob } from './handlers/append-blob.js';
import { getUserDelegationKey } from './handlers/user-delegation-key.js';

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

/**
 * What a shared access signature must grant for the operation: the resource level (for account SAS
 * the resource type s/c/o) and one permission letter, fixed or decided by the request.
 */
export interface SasRule {
  resource: 'service' | 'container' | 'blob';
  permission: SasPermission | ((ctx: RequestContext) => SasPermission);
}

/** The RBAC permission an operation needs, fixed or decided by the request. */
export type RbacRule = Permission | ((ctx: RequestContext) => Permission);

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
  /** The operation may address a snapshot or version (`?snapshot=` / `?versionid=`); others refuse them. */
  selectable?: true;
  /** Absent: no SAS can authorize the operation. */
  sas?: SasRule;
  /** Absent: no bearer token can authorize the operation. */
  dataAction?: RbacRule;
  /** Only a bearer token may call it (Get User Delegation Key). */
  bearerOnly?: true;
}

const S = (permission: SasRule['permission']): SasRule => ({ resource: 'service', permission });
const C = (permission: SasRule['permission']): SasRule => ({ resource: 'container', permission });
const B = (permission: SasRule['permission']): SasRule => ({ resource: 'blob', permission });
/** Delete Blob: `x` for a version, `y` for a permanent delete, `d` otherwise (spec §10.4). */
const deletePermission = (ctx: RequestContext): SasPermission =>
  ctx.query.values.deletetype === 'permanent' ? 'y' : ctx.query.values.versionid !== undefined ? 'x' : 'd';

/** Delete Blob over RBAC: deleteBlobVersion / permanentDelete are Owner-only actions (spec §9). */
const deleteAction = (ctx: RequestContext): Permission =>
  ctx.query.values.deletetype === 'permanent' ? P.blobPermanentDelete
    : ctx.query.values.versionid !== undefined ? P.blobDeleteVersion : P.blobDelete;

const COPY_SOURCE: Guard = { header: 'x-ms-copy-source' };

export const ROUTES = [
  // ---- account: /{account}/
  { level: 'account', method: 'GET', comp: 'list', operation: 'List Containers', handler: listContainers, sas: S('l'), dataAction: P.containerRead },
  { level: 'account', method: 'GET', restype: 'service', comp: 'properties', operation: 'Get Blob Service Properties', handler: getServiceProperties, sas: S('r'), dataAction: P.serviceRead },
  { level: 'account', method: 'PUT', restype: 'service', comp: 'properties', operation: 'Set Blob Service Properties', handler: setServiceProperties, sas: S('w'), dataAction: P.serviceWrite },
  { level: 'account', method: 'GET', restype: 'service', comp: 'stats', operation: 'Get Blob Service Stats' },
  { level: 'account', method: 'POST', restype: 'service', comp: 'userdelegationkey', operation: 'Get User Delegation Key', handler: getUserDelegationKey, dataAction: P.generateUserDelegationKey, bearerOnly: true },
  { level: 'account', method: 'GET', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo, sas: S('r'), dataAction: P.blobRead },
  { level: 'account', method: 'HEAD', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo, sas: S('r'), dataAction: P.blobRead },
  { level: 'account', method: 'GET', comp: 'blobs', operation: 'Find Blobs by Tags' },
  { level: 'account', method: 'POST', comp: 'batch', operation: 'Blob Batch' },

  // ---- container: /{account}/{container}?restype=container
  { level: 'container', method: 'PUT', restype: 'container', operation: 'Create Container', handler: createContainer, sas: C('c'), dataAction: P.containerWrite },
  { level: 'container', method: 'GET', restype: 'container', operation: 'Get Container Properties', handler: getContainerProperties, anonymous: 'container', sas: C('r'), dataAction: P.containerRead },
  { level: 'container', method: 'HEAD', restype: 'container', operation: 'Get Container Properties', handler: getContainerProperties, anonymous: 'container', sas: C('r'), dataAction: P.containerRead },
  { level: 'container', method: 'DELETE', restype: 'container', operation: 'Delete Container', handler: deleteContainer, sas: C('d'), dataAction: P.containerDelete },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'metadata', operation: 'Set Container Metadata', handler: setContainerMetadata, sas: C('w'), dataAction: P.containerWrite },
  { level: 'container', method: 'GET', restype: 'container', comp: 'metadata', operation: 'Get Container Metadata', handler: getContainerProperties, anonymous: 'container', sas: C('r'), dataAction: P.containerRead },
  { level: 'container', method: 'HEAD', restype: 'container', comp: 'metadata', operation: 'Get Container Metadata', handler: getContainerProperties, anonymous: 'container', sas: C('r'), dataAction: P.containerRead },
  { level: 'container', method: 'GET', restype: 'container', comp: 'acl', operation: 'Get Container ACL', handler: getContainerAcl, sas: C('r'), dataAction: P.containerRead },
  { level: 'container', method: 'HEAD', restype: 'container', comp: 'acl', operation: 'Get Container ACL', handler: getContainerAcl, sas: C('r'), dataAction: P.containerRead },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'acl', operation: 'Set Container ACL', handler: setContainerAcl, sas: C('w'), dataAction: P.containerWrite },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'lease', operation: 'Lease Container', handler: leaseContainer, sas: C('w'), dataAction: P.containerWrite },
  { level: 'container', method: 'GET', restype: 'container', comp: 'list', operation: 'List Blobs', handler: listBlobs, anonymous: 'container', sas: C('l'), dataAction: P.blobRead },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'undelete', operation: 'Restore Container', handler: restoreContainer, sas: C('w'), dataAction: P.containerWrite },
  { level: 'container', method: 'PUT', restype: 'container', comp: 'rename', operation: 'Rename Container' },
  { level: 'container', method: 'GET', restype: 'container', comp: 'blobs', operation: 'Find Blobs by Tags in Container' },
  { level: 'container', method: 'POST', restype: 'container', comp: 'batch', operation: 'Blob Batch' },
  { level: 'container', method: 'GET', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo, sas: S('r'), dataAction: P.blobRead },
  { level: 'container', method: 'HEAD', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo, sas: S('r'), dataAction: P.blobRead },

  // ---- blob: /{account}/{container}/{blob}
  { level: 'blob', method: 'PUT', when: [COPY_SOURCE, { header: 'x-ms-blob-type', is: 'BlockBlob' }], operation: 'Put Blob From URL', handler: putBlobFromUrl, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', when: [COPY_SOURCE, { header: 'x-ms-requires-sync', is: 'true' }], operation: 'Copy Blob From URL', handler: copyBlobFromUrl, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', when: [COPY_SOURCE], operation: 'Copy Blob', handler: copyBlob, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', when: [{ header: 'x-ms-blob-type', is: 'BlockBlob' }], operation: 'Put Blob', handler: putBlob, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', when: [{ header: 'x-ms-blob-type', is: 'PageBlob' }], operation: 'Put Blob (page blob)', handler: createPageBlob, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', when: [{ header: 'x-ms-blob-type', is: 'AppendBlob' }], operation: 'Put Blob (append blob)', handler: createAppendBlob, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', operation: 'Put Blob', handler: putBlobWithoutType, sas: B('w'), dataAction: P.blobWrite },

  { level: 'blob', method: 'GET', operation: 'Get Blob', handler: getBlob, anonymous: 'blob', selectable: true, sas: B('r'), dataAction: P.blobRead },
  { level: 'blob', method: 'HEAD', operation: 'Get Blob Properties', handler: getBlobProperties, anonymous: 'blob', selectable: true, sas: B('r'), dataAction: P.blobRead },
  { level: 'blob', method: 'DELETE', operation: 'Delete Blob', handler: deleteBlob, selectable: true, sas: B(deletePermission), dataAction: deleteAction },

  { level: 'blob', method: 'GET', comp: 'metadata', operation: 'Get Blob Metadata', handler: getBlobMetadata, anonymous: 'blob', selectable: true, sas: B('r'), dataAction: P.blobRead },
  { level: 'blob', method: 'HEAD', comp: 'metadata', operation: 'Get Blob Metadata', handler: getBlobMetadata, anonymous: 'blob', selectable: true, sas: B('r'), dataAction: P.blobRead },
  { level: 'blob', method: 'PUT', comp: 'metadata', operation: 'Set Blob Metadata', handler: setBlobMetadata, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'properties', when: [{ header: 'x-ms-blob-content-length' }], operation: 'Resize Page Blob', handler: resizePageBlob, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'properties', when: [{ header: 'x-ms-sequence-number-action' }], operation: 'Update Sequence Number', handler: updateSequenceNumber, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'properties', operation: 'Set Blob Properties', handler: setBlobProperties, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'lease', operation: 'Lease Blob', handler: leaseBlob, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'copy', operation: 'Abort Copy Blob', handler: abortCopy, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'undelete', operation: 'Undelete Blob', handler: undeleteBlob, sas: B('w'), dataAction: P.blobDelete },
  { level: 'blob', method: 'PUT', comp: 'snapshot', operation: 'Snapshot Blob', handler: snapshotBlob, sas: B('c'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'tier', operation: 'Set Blob Tier', handler: setBlobTier, selectable: true, sas: B('w'), dataAction: P.blobWrite },

  { level: 'blob', method: 'PUT', comp: 'block', when: [COPY_SOURCE], operation: 'Put Block From URL', handler: putBlockFromUrl, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'block', operation: 'Put Block', handler: putBlock, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'blocklist', operation: 'Put Block List', handler: putBlockList, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'GET', comp: 'blocklist', operation: 'Get Block List', handler: getBlockList, anonymous: 'blob', selectable: true, sas: B('r'), dataAction: P.blobRead },

  { level: 'blob', method: 'PUT', comp: 'page', when: [COPY_SOURCE], operation: 'Put Page From URL', handler: putPage, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'page', when: [{ header: 'x-ms-page-write', is: 'clear' }], operation: 'Clear Pages', handler: putPage, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'page', operation: 'Put Page', handler: putPage, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'GET', comp: 'pagelist', when: [{ header: 'x-ms-previous-snapshot-url' }], operation: 'Get Page Ranges Diff (managed disk)', handler: getPageRanges, selectable: true, sas: B('r'), dataAction: P.blobRead },
  { level: 'blob', method: 'GET', comp: 'pagelist', when: [{ query: 'prevsnapshot' }], operation: 'Get Page Ranges Diff', handler: getPageRanges, selectable: true, sas: B('r'), dataAction: P.blobRead },
  { level: 'blob', method: 'GET', comp: 'pagelist', operation: 'Get Page Ranges', handler: getPageRanges, selectable: true, sas: B('r'), anonymous: 'blob', dataAction: P.blobRead },
  { level: 'blob', method: 'PUT', comp: 'incrementalcopy', operation: 'Incremental Copy Blob', handler: incrementalCopyBlob, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'PUT', comp: 'appendblock', when: [COPY_SOURCE], operation: 'Append Block From URL' },
  { level: 'blob', method: 'PUT', comp: 'appendblock', operation: 'Append Block', handler: appendBlock, sas: B('a'), dataAction: P.blobAdd },
  { level: 'blob', method: 'PUT', comp: 'seal', operation: 'Seal Append Blob', handler: sealAppendBlob, sas: B('w'), dataAction: P.blobWrite },
  { level: 'blob', method: 'GET', comp: 'tags', operation: 'Get Blob Tags', selectable: true },
  { level: 'blob', method: 'PUT', comp: 'tags', operation: 'Set Blob Tags', selectable: true },
  { level: 'blob', method: 'PUT', comp: 'expiry', operation: 'Set Blob Expiry' },
  { level: 'blob', method: 'POST', comp: 'query', operation: 'Query Blob Contents' },
  { level: 'blob', method: 'PUT', comp: 'immutabilityPolicies', operation: 'Set Blob Immutability Policy' },
  { level: 'blob', method: 'DELETE', comp: 'immutabilityPolicies', operation: 'Delete Blob Immutability Policy', selectable: true },
  { level: 'blob', method: 'PUT', comp: 'legalhold', operation: 'Set Blob Legal Hold' },
  { level: 'blob', method: 'GET', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo, selectable: true, dataAction: P.blobRead },
  { level: 'blob', method: 'HEAD', restype: 'account', comp: 'properties', operation: 'Get Account Information', handler: getAccountInfo, selectable: true, dataAction: P.blobRead },
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
