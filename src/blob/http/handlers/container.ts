// Container-level operations (spec/blob-rest.md §2 "Container level", §6, §13): create, properties,
// metadata, delete, ACL, lease, List Blobs. All carry `restype=container`.

import type { IncomingMessage } from 'node:http';
import type { PublicAccess } from '../../service/model.js';
import { notImplemented, wireFail } from '../../../azure-wire/errors.js';
import { renderBlobList, renderSignedIdentifiers, setContainerHeaders, setMetadataHeaders, setVersionedHeaders } from '../render.js';
import {
  containerRef, header, leaseIdOf, parseConditions, parseMetadata, readSmallBody, serviceEndpointOf, type Reply, type RequestContext,
} from '../request.js';
import { parseSignedIdentifiers } from '../xml-input.js';
import { leaseReply, parseInclude, parseLeaseAction, parseMaxResults, xmlReply } from './common.js';

function parsePublicAccess(req: IncomingMessage): PublicAccess | null {
  const value = header(req, 'x-ms-blob-public-access');
  if (value === undefined || value === '') return null;
  if (value === 'container' || value === 'blob') return value;
  return wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-blob-public-access', HeaderValue: value });
}

export async function createContainer(ctx: RequestContext): Promise<Reply> {
  const options = { metadata: parseMetadata(ctx.req), publicAccess: parsePublicAccess(ctx.req) };
  const result = await ctx.deps.api.createContainer(containerRef(ctx), options, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  return { status: 201 };
}

/** Get Container Properties (no comp) and Get Container Metadata (comp=metadata), GET or HEAD. */
export async function getContainerProperties(ctx: RequestContext): Promise<Reply> {
  const leaseId = leaseIdOf(ctx.req);
  const container = await ctx.deps.api.getContainer(containerRef(ctx), leaseId === undefined ? {} : { leaseId }, ctx.nowMs);
  if (ctx.query.values.comp === 'metadata') {
    setVersionedHeaders(ctx.out, container.etag, container.lastModifiedMs);
    setMetadataHeaders(ctx.out, container.metadata);
  } else {
    setContainerHeaders(ctx.out, container);
  }
  return { status: 200 };
}

export async function deleteContainer(ctx: RequestContext): Promise<Reply> {
  await ctx.deps.api.deleteContainer(containerRef(ctx), { leaseId: leaseIdOf(ctx.req), conditions: parseConditions(ctx.req) }, ctx.nowMs);
  return { status: 202 };
}

export async function setContainerMetadata(ctx: RequestContext): Promise<Reply> {
  const options = { metadata: parseMetadata(ctx.req), leaseId: leaseIdOf(ctx.req), conditions: parseConditions(ctx.req) };
  const result = await ctx.deps.api.setContainerMetadata(containerRef(ctx), options, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  return { status: 200 };
}

export async function getContainerAcl(ctx: RequestContext): Promise<Reply> {
  const leaseId = leaseIdOf(ctx.req);
  const { container, identifiers } = await ctx.deps.api.getContainerAcl(containerRef(ctx), leaseId === undefined ? {} : { leaseId }, ctx.nowMs);
  setVersionedHeaders(ctx.out, container.etag, container.lastModifiedMs);
  if (container.publicAccess !== null) ctx.out['x-ms-blob-public-access'] = container.publicAccess;
  return xmlReply(ctx, renderSignedIdentifiers(identifiers));
}

export async function setContainerAcl(ctx: RequestContext): Promise<Reply> {
  const publicAccess = parsePublicAccess(ctx.req);
  const leaseId = leaseIdOf(ctx.req);
  const conditions = parseConditions(ctx.req);
  const identifiers = parseSignedIdentifiers(await readSmallBody(ctx.req));
  const result = await ctx.deps.api.setContainerAcl(containerRef(ctx), { publicAccess, identifiers, leaseId, conditions }, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  return { status: 200 };
}

export async function leaseContainer(ctx: RequestContext): Promise<Reply> {
  const action = parseLeaseAction(ctx.req);
  const result = await ctx.deps.api.leaseContainer(containerRef(ctx), action, parseConditions(ctx.req), ctx.nowMs);
  return leaseReply(ctx, action, result);
}

// Listing options Nimbus accepts. Tags and immutability do not exist in Nimbus yet, so including
// them correctly lists nothing extra. Uncommitted blobs do exist (Put Block without a commit) and
// are not listed yet: that include is refused with 501.
const BLOB_INCLUDES: ReadonlySet<string> = new Set([
  'metadata', 'copy', 'snapshots', 'versions', 'tags', 'deleted', 'deletedwithversions',
  'immutabilitypolicy', 'legalhold', 'permissions', 'uncommittedblobs',
]);

export async function listBlobs(ctx: RequestContext): Promise<Reply> {
  const q = ctx.query.values;
  const maxResults = parseMaxResults(ctx);
  const include = parseInclude(ctx, BLOB_INCLUDES);
  if (include.has('uncommittedblobs')) notImplemented('List Blobs with include=uncommittedblobs');
  const includeMetadata = include.has('metadata');
  const delimiter = q.delimiter === '' ? undefined : q.delimiter;
  const includes = {
    metadata: includeMetadata, snapshots: include.has('snapshots'), versions: include.has('versions'),
    deleted: include.has('deleted'), deletedWithVersions: include.has('deletedwithversions'),
  };
  const result = await ctx.deps.api.listBlobs(
    containerRef(ctx), { prefix: q.prefix, delimiter, marker: q.marker, maxResults, include: includes }, ctx.nowMs,
  );
  const echo = { prefix: q.prefix, marker: q.marker, maxResults: q.maxresults === undefined ? undefined : maxResults, delimiter };
  const options = { includeMetadata, includeCopy: include.has('copy') };
  return xmlReply(ctx, renderBlobList(serviceEndpointOf(ctx), ctx.target.container, echo, result, options));
}

/** Restore Container: the URL names the container to (re)create; headers name the deleted one. */
export async function restoreContainer(ctx: RequestContext): Promise<Reply> {
  const name = header(ctx.req, 'x-ms-deleted-container-name');
  const version = header(ctx.req, 'x-ms-deleted-container-version');
  if (name === undefined) wireFail('MissingRequiredHeader', { HeaderName: 'x-ms-deleted-container-name' });
  if (version === undefined) wireFail('MissingRequiredHeader', { HeaderName: 'x-ms-deleted-container-version' });
  const result = await ctx.deps.api.restoreContainer(containerRef(ctx), { name, version }, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  return { status: 201 };
}
