// Blob reads (spec/blob-rest.md §7 Get Block List, §8 Get Blob / Get Blob Properties, Get Blob Metadata).
//
// Get Blob streams the service's reader straight into the response (server.ts writes it with
// backpressure); the only buffering is the optional range MD5, which Azure limits to 4 MiB ranges:
//
//   no range                 200, Content-Length = size, Content-MD5 = stored MD5
//   range                    206, Content-Range bytes S-E/size, x-ms-blob-content-md5 = stored MD5
//   range + x-ms-range-get-content-md5: true   (range ≤ 4 MiB, else 400 OutOfRangeInput)
//                            206 as above + Content-MD5 of the bytes served (buffered to hash them)
//
// Whatever happens after the service answered, the read guard is released exactly once: by the
// stream ending (open) or by discard().

import { createHash } from 'node:crypto';
import type { ContentStream, GetBlobResult } from '../../service/model.js';
import { wireFail } from '../../../azure-wire/errors.js';
import { renderBlockList, setBlobHeaders, setMetadataHeaders, setVersionedHeaders, type BlockListType } from '../render.js';
import { blobRef, header, leaseIdOf, parseConditions, parseRange, type Reply, type RequestContext } from '../request.js';
import { selectorOf, xmlReply } from './common.js';

const RANGE_MD5_MAX_BYTES = 4 * 1024 * 1024;

export async function getBlob(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  const range = parseRange(req);
  const wantRangeMd5 = header(req, 'x-ms-range-get-content-md5')?.toLowerCase() === 'true';
  if (wantRangeMd5) {
    if (range === undefined) wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-range-get-content-md5', HeaderValue: 'true' });
    if (range.end !== undefined && range.end - range.start + 1 > RANGE_MD5_MAX_BYTES) wireFail('OutOfRangeInput');
  }
  const options = { range, conditions: parseConditions(req), leaseId: leaseIdOf(req), selector: selectorOf(ctx) };
  const result = await ctx.deps.api.getBlob(blobRef(ctx), options, ctx.nowMs);
  let opened = false;
  const open = (): ContentStream => {
    const stream = result.open();
    opened = true;
    return stream;
  };
  try {
    return await blobReply(ctx, result, wantRangeMd5, open);
  } catch (error) {
    if (!opened) result.discard();
    throw error;
  }
}

async function blobReply(ctx: RequestContext, result: GetBlobResult, wantRangeMd5: boolean, open: () => ContentStream): Promise<Reply> {
  const { blob, range } = result;
  const out = ctx.out;
  setBlobHeaders(out, blob, 'get');
  const storedMd5 = blob.headers.contentMd5;
  if (range === undefined) {
    out['Content-Length'] = blob.sizeBytes;
    if (storedMd5 !== undefined) out['Content-MD5'] = storedMd5;
    return result.buffered ? { status: 200, body: result.buffered } : { status: 200, stream: open() };
  }
  const length = range.end - range.start + 1;
  out['Content-Length'] = length;
  out['Content-Range'] = `bytes ${range.start}-${range.end}/${blob.sizeBytes}`;
  if (storedMd5 !== undefined) out['x-ms-blob-content-md5'] = storedMd5;
  if (!wantRangeMd5) return result.buffered ? { status: 206, body: result.buffered } : { status: 206, stream: open() };
  if (length > RANGE_MD5_MAX_BYTES) wireFail('OutOfRangeInput');
  const bytes = result.buffered ?? (await readAll(open()));
  out['Content-MD5'] = createHash('md5').update(bytes).digest('base64');
  return { status: 206, body: bytes };
}

async function readAll(stream: ContentStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/** Get Blob Properties (HEAD, no comp). */
export async function getBlobProperties(ctx: RequestContext): Promise<Reply> {
  const options = { conditions: parseConditions(ctx.req), leaseId: leaseIdOf(ctx.req), selector: selectorOf(ctx) };
  const blob = await ctx.deps.api.getBlobProperties(blobRef(ctx), options, ctx.nowMs);
  setBlobHeaders(ctx.out, blob, 'properties');
  ctx.out['Content-Length'] = blob.sizeBytes;
  if (blob.headers.contentMd5 !== undefined) ctx.out['Content-MD5'] = blob.headers.contentMd5;
  return { status: 200 };
}

/** Get Blob Metadata (GET/HEAD comp=metadata). */
export async function getBlobMetadata(ctx: RequestContext): Promise<Reply> {
  const options = { conditions: parseConditions(ctx.req), leaseId: leaseIdOf(ctx.req), selector: selectorOf(ctx) };
  const blob = await ctx.deps.api.getBlobProperties(blobRef(ctx), options, ctx.nowMs);
  setVersionedHeaders(ctx.out, blob.etag, blob.lastModifiedMs);
  setMetadataHeaders(ctx.out, blob.metadata);
  return { status: 200 };
}

const BLOCK_LIST_TYPES: Readonly<Record<string, BlockListType | undefined>> = { committed: 'committed', uncommitted: 'uncommitted', all: 'all' };

export async function getBlockList(ctx: RequestContext): Promise<Reply> {
  const typeText = ctx.query.values.blocklisttype;
  const type = typeText === undefined ? 'committed' : BLOCK_LIST_TYPES[typeText.toLowerCase()];
  if (type === undefined) wireFail('InvalidQueryParameterValue', { QueryParameterName: 'blocklisttype', QueryParameterValue: typeText ?? '' });
  const leaseId = leaseIdOf(ctx.req);
  const view = await ctx.deps.api.getBlockList(blobRef(ctx), { leaseId, selector: selectorOf(ctx) }, ctx.nowMs);
  if (view.blob !== undefined) setVersionedHeaders(ctx.out, view.blob.etag, view.blob.lastModifiedMs);
  ctx.out['x-ms-blob-content-length'] = String(view.blob?.sizeBytes ?? 0);
  return xmlReply(ctx, renderBlockList(view, type));
}
