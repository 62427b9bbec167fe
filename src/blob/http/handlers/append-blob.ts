// Append blob operations (spec/blob-rest.md §18): Put Blob (AppendBlob), Append Block, Seal.
import type { IncomingMessage } from 'node:http';
import { wireFail } from '../../../azure-wire/errors.js';
import type { AppendConditions } from '../../service/api.js';
import { setVersionedHeaders } from '../render.js';
import {
  blobRef, bodySource, header, leaseIdOf, parseBlobHttpHeaders, parseConditions, parseMetadata, refuseUnsupportedHeaders,
  type Reply, type RequestContext,
} from '../request.js';
import { setWriteHeaders } from './common.js';

export async function createAppendBlob(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  refuseUnsupportedHeaders(req);
  const length = header(req, 'content-length');
  if (length !== undefined && length !== '0') wireFail('InvalidHeaderValue', { HeaderName: 'Content-Length', HeaderValue: length });
  const request = { headers: parseBlobHttpHeaders(req, true), metadata: parseMetadata(req), conditions: parseConditions(req), leaseId: leaseIdOf(req) };
  setWriteHeaders(ctx, await ctx.deps.api.createAppendBlob(blobRef(ctx), request, ctx.nowMs));
  return { status: 201 };
}

export async function appendBlock(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  const options = { conditions: parseConditions(req), leaseId: leaseIdOf(req), append: appendConditions(req) };
  const result = await ctx.deps.api.appendBlock(blobRef(ctx), bodySource(req), options, ctx.nowMs);
  setWriteHeaders(ctx, result);
  ctx.out['x-ms-blob-append-offset'] = String(result.appendOffset);
  ctx.out['x-ms-blob-committed-block-count'] = String(result.committedBlockCount);
  return { status: 201 };
}

export async function sealAppendBlob(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  const result = await ctx.deps.api.sealAppendBlob(blobRef(ctx), { conditions: parseConditions(req), leaseId: leaseIdOf(req), append: appendConditions(req) }, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  ctx.out['x-ms-blob-sealed'] = 'true';
  return { status: 200 };
}

function appendConditions(req: IncomingMessage): AppendConditions {
  return {
    maxSizeBytes: nonNegative(req, 'x-ms-blob-condition-maxsize'),
    appendPosition: nonNegative(req, 'x-ms-blob-condition-appendpos'),
  };
}

function nonNegative(req: IncomingMessage, name: string): number | undefined {
  const text = header(req, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || text.trim() === '') wireFail('InvalidHeaderValue', { HeaderName: name, HeaderValue: text });
  return value;
}
