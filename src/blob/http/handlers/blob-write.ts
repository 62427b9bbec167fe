// Blob writes (spec/blob-rest.md §7 Put Blob / Put Block / Put Block List, §9 Set Blob Metadata /
// Properties, §12 Delete Blob, §16 Lease Blob). Blob bodies are handed to the service as the request
// stream itself; only the Put Block List XML is buffered (size-capped).

import { wireFail } from '../../../azure-wire/errors.js';
import { setVersionedHeaders } from '../render.js';
import {
  accessTierOf, blobRef, bodySource, header, leaseIdOf, parseBlobHttpHeaders, parseConditions, parseMetadata, readSmallBody,
  refuseUnsupportedHeaders, requiredHeader, requiredQuery, type Reply, type RequestContext,
} from '../request.js';
import { parsePriority, parseTier } from '../../service/tiers.js';
import { parseBlockList } from '../xml-input.js';
import { leaseReply, parseLeaseAction, selectorOf, setWriteHeaders } from './common.js';

export async function putBlob(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  refuseUnsupportedHeaders(req);
  const request = {
    body: bodySource(req),
    headers: parseBlobHttpHeaders(req, true),
    metadata: parseMetadata(req),
    conditions: parseConditions(req),
    leaseId: leaseIdOf(req),
    tier: accessTierOf(req),
  };
  setWriteHeaders(ctx, await ctx.deps.api.putBlob(blobRef(ctx), request, ctx.nowMs));
  return { status: 201 };
}

/** PUT without x-ms-blob-type or x-ms-copy-source, or with a type Azure does not know. */
export function putBlobWithoutType(ctx: RequestContext): Promise<Reply> {
  const type = header(ctx.req, 'x-ms-blob-type');
  return type === undefined
    ? wireFail('MissingRequiredHeader', { HeaderName: 'x-ms-blob-type' })
    : wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-blob-type', HeaderValue: type });
}

export async function putBlock(ctx: RequestContext): Promise<Reply> {
  const blockId = requiredQuery(ctx, 'blockid');
  const leaseId = leaseIdOf(ctx.req);
  const result = await ctx.deps.api.putBlock(blobRef(ctx), blockId, bodySource(ctx.req), leaseId === undefined ? {} : { leaseId }, ctx.nowMs);
  return stagedBlockReply(ctx, result.contentMd5);
}

/** Put Block and Put Block From URL: 201, the block's MD5 when the service computed one. */
export function stagedBlockReply(ctx: RequestContext, contentMd5: string | undefined): Reply {
  if (contentMd5 !== undefined) ctx.out['Content-MD5'] = contentMd5;
  ctx.out['x-ms-request-server-encrypted'] = 'true';
  return { status: 201 };
}

export async function putBlockList(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  refuseUnsupportedHeaders(req);
  const headers = parseBlobHttpHeaders(req, false);
  const metadata = parseMetadata(req);
  const conditions = parseConditions(req);
  const leaseId = leaseIdOf(req);
  const tier = accessTierOf(req);
  const items = parseBlockList(await readSmallBody(req));
  setWriteHeaders(ctx, await ctx.deps.api.putBlockList(blobRef(ctx), { items, headers, metadata, conditions, leaseId, tier }, ctx.nowMs));
  return { status: 201 };
}

/** Set Blob Properties (HTTP headers): all six are replaced together, omitted ones cleared (§9). */
export async function setBlobProperties(ctx: RequestContext): Promise<Reply> {
  const options = { headers: parseBlobHttpHeaders(ctx.req, false), conditions: parseConditions(ctx.req), leaseId: leaseIdOf(ctx.req) };
  const result = await ctx.deps.api.setBlobHttpHeaders(blobRef(ctx), options, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  return { status: 200 };
}

export async function setBlobMetadata(ctx: RequestContext): Promise<Reply> {
  const options = { metadata: parseMetadata(ctx.req), conditions: parseConditions(ctx.req), leaseId: leaseIdOf(ctx.req) };
  setWriteHeaders(ctx, await ctx.deps.api.setBlobMetadata(blobRef(ctx), options, ctx.nowMs));
  return { status: 200 };
}

export async function deleteBlob(ctx: RequestContext): Promise<Reply> {
  const deleteSnapshots = parseDeleteSnapshots(header(ctx.req, 'x-ms-delete-snapshots'));
  const deleteType = ctx.query.values.deletetype;
  if (deleteType !== undefined && deleteType !== 'permanent') {
    wireFail('InvalidQueryParameterValue', { QueryParameterName: 'deletetype', QueryParameterValue: deleteType });
  }
  const selector = selectorOf(ctx);
  if (deleteType !== undefined && selector === undefined) wireFail('InvalidQueryParameterValue', { QueryParameterName: 'deletetype', QueryParameterValue: deleteType });
  const options = { conditions: parseConditions(ctx.req), leaseId: leaseIdOf(ctx.req), deleteSnapshots, selector, permanent: deleteType === 'permanent' };
  await ctx.deps.api.deleteBlob(blobRef(ctx), options, ctx.nowMs);
  return { status: 202 };
}

export async function undeleteBlob(ctx: RequestContext): Promise<Reply> {
  await ctx.deps.api.undeleteBlob(blobRef(ctx), ctx.nowMs);
  return { status: 200 };
}

export async function snapshotBlob(ctx: RequestContext): Promise<Reply> {
  const metadata = parseMetadata(ctx.req);
  const options = { metadata: Object.keys(metadata).length > 0 ? metadata : undefined, conditions: parseConditions(ctx.req), leaseId: leaseIdOf(ctx.req) };
  const result = await ctx.deps.api.snapshotBlob(blobRef(ctx), options, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  ctx.out['x-ms-snapshot'] = result.snapshot;
  if (result.versionId !== undefined) ctx.out['x-ms-version-id'] = result.versionId;
  ctx.out['x-ms-request-server-encrypted'] = 'true';
  return { status: 201 };
}

function parseDeleteSnapshots(text: string | undefined): 'include' | 'only' | undefined {
  if (text === undefined || text === 'include' || text === 'only') return text;
  return wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-delete-snapshots', HeaderValue: text });
}

export async function leaseBlob(ctx: RequestContext): Promise<Reply> {
  const action = parseLeaseAction(ctx.req);
  const result = await ctx.deps.api.leaseBlob(blobRef(ctx), action, parseConditions(ctx.req), ctx.nowMs);
  return leaseReply(ctx, action, result);
}

/** Set Blob Tier: 200 when the change is immediate, 202 when a rehydration out of Archive started. */
export async function setBlobTier(ctx: RequestContext): Promise<Reply> {
  const tier = parseTier(requiredHeader(ctx.req, 'x-ms-access-tier'));
  const priority = parsePriority(header(ctx.req, 'x-ms-rehydrate-priority'));
  const result = await ctx.deps.api.setBlobTier(blobRef(ctx), { tier, priority, selector: selectorOf(ctx), leaseId: leaseIdOf(ctx.req) }, ctx.nowMs);
  return { status: result.accepted ? 202 : 200 };
}
