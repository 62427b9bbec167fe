// Server-side copies (spec/blob-rest.md §10): Copy Blob (async, 202), Copy Blob From URL
// (x-ms-requires-sync, 202), Put Blob From URL (201), Put Block From URL (201), Abort Copy (204),
// Incremental Copy Blob (202; https://learn.microsoft.com/rest/api/storageservices/incremental-copy-blob).
// The source URL is resolved to a blob of this server by request.ts parseCopySource.

import { notImplemented, wireFail } from '../../../azure-wire/errors.js';
import { setVersionedHeaders } from '../render.js';
import {
  accessTierOf, blobRef, hasBlobHttpHeaders, header, leaseIdOf, parseBlobHttpHeaders, parseConditions, parseCopySource, parseMetadata,
  refuseUnsupportedHeaders, requiredHeader, requiredQuery, type Reply, type RequestContext,
} from '../request.js';
import { setWriteHeaders } from './common.js';
import { authorizeCopySource } from '../auth.js';
import { stagedBlockReply } from './blob-write.js';
import { parsePriority } from '../../service/tiers.js';

/** Copy Blob and, with `sync`, Copy Blob From URL: both answer 202. */
async function copy(ctx: RequestContext, sync: boolean): Promise<Reply> {
  const req = ctx.req;
  refuseUnsupportedHeaders(req);
  const source = parseCopySource(req, ctx.deps.accounts);
  await authorizeCopySource(ctx, source);
  const metadata = parseMetadata(req);
  const options = {
    // Copy keeps the source's metadata unless the request brings its own (§10).
    metadata: Object.keys(metadata).length > 0 ? metadata : undefined,
    conditions: parseConditions(req),
    leaseId: leaseIdOf(req),
    tier: accessTierOf(req),
    rehydratePriority: header(req, 'x-ms-rehydrate-priority') === undefined ? undefined : parsePriority(header(req, 'x-ms-rehydrate-priority')),
    sync,
  };
  const result = await ctx.deps.api.copyBlob(blobRef(ctx), source, options, ctx.nowMs);
  if (sync && result.copyStatus !== 'success') notImplemented('a synchronous copy that cannot finish at once');
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  ctx.out['x-ms-copy-id'] = result.copyId;
  ctx.out['x-ms-copy-status'] = result.copyStatus;
  if (result.versionId !== undefined) ctx.out['x-ms-version-id'] = result.versionId;
  if (sync && result.contentMd5 !== undefined) ctx.out['Content-MD5'] = result.contentMd5;
  return { status: 202 };
}

export function copyBlob(ctx: RequestContext): Promise<Reply> {
  return copy(ctx, false);
}

export function copyBlobFromUrl(ctx: RequestContext): Promise<Reply> {
  return copy(ctx, true);
}

export async function putBlobFromUrl(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  refuseUnsupportedHeaders(req);
  const source = parseCopySource(req, ctx.deps.accounts);
  await authorizeCopySource(ctx, source);
  const copySourceProperties = header(req, 'x-ms-copy-source-blob-properties')?.toLowerCase() !== 'false';
  const options = {
    headers: hasBlobHttpHeaders(req) ? parseBlobHttpHeaders(req, false) : undefined,
    metadata: parseMetadata(req),
    conditions: parseConditions(req),
    leaseId: leaseIdOf(req),
    copySourceProperties,
  };
  setWriteHeaders(ctx, await ctx.deps.api.putBlobFromUrl(blobRef(ctx), source, options, ctx.nowMs));
  return { status: 201 };
}

export async function putBlockFromUrl(ctx: RequestContext): Promise<Reply> {
  const blockId = requiredQuery(ctx, 'blockid');
  const source = parseCopySource(ctx.req, ctx.deps.accounts);
  await authorizeCopySource(ctx, source);
  const leaseId = leaseIdOf(ctx.req);
  const result = await ctx.deps.api.putBlockFromUrl(blobRef(ctx), blockId, source, leaseId === undefined ? {} : { leaseId }, ctx.nowMs);
  return stagedBlockReply(ctx, result.contentMd5);
}

/** Incremental Copy Blob: the source is a page blob snapshot URL (with its SAS when needed). */
export async function incrementalCopyBlob(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  refuseUnsupportedHeaders(req);
  const source = parseCopySource(req, ctx.deps.accounts);
  await authorizeCopySource(ctx, source);
  const options = { conditions: parseConditions(req), leaseId: leaseIdOf(req) };
  const result = await ctx.deps.api.incrementalCopy(blobRef(ctx), source, options, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  ctx.out['x-ms-copy-id'] = result.copyId;
  ctx.out['x-ms-copy-status'] = result.copyStatus;
  return { status: 202 };
}

export async function abortCopy(ctx: RequestContext): Promise<Reply> {
  const action = requiredHeader(ctx.req, 'x-ms-copy-action');
  if (action.toLowerCase() !== 'abort') wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-copy-action', HeaderValue: action });
  const copyId = requiredQuery(ctx, 'copyid');
  const leaseId = leaseIdOf(ctx.req);
  await ctx.deps.api.abortCopy(blobRef(ctx), copyId, leaseId === undefined ? {} : { leaseId }, ctx.nowMs);
  return { status: 204 };
}
