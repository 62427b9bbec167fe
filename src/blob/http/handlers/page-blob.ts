// Page blob operations (spec/blob-rest.md §19): Put Blob (PageBlob), Put Page / Clear Pages /
// Put Page From URL, Get Page Ranges (plain, `prevsnapshot` diff, and the managed-disk
// `x-ms-previous-snapshot-url` diff), resize and sequence number (Set Blob Properties variants).
import type { IncomingMessage } from 'node:http';
import { wireFail } from '../../../azure-wire/errors.js';
import { el, XML_DECLARATION } from '../../../azure-wire/xml.js';
import type { PageRange, PageRangesResult, PageWriteOptions, PageWriteResult, SequenceAction } from '../../service/api.js';
import { setVersionedHeaders } from '../render.js';
import {
  blobRef, bodySource, header, leaseIdOf, parseBlobHttpHeaders, parseByteRange, parseConditions, parseCopySource, parseMetadata,
  parseTarget, refuseUnsupportedHeaders, requiredHeader, type Reply, type RequestContext,
} from '../request.js';
import { authorizeCopySource } from '../auth.js';
import { parseMaxResults, selectorOf, setWriteHeaders, xmlReply } from './common.js';

export async function createPageBlob(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  refuseUnsupportedHeaders(req);
  const length = header(req, 'content-length');
  if (length !== undefined && length !== '0') wireFail('InvalidHeaderValue', { HeaderName: 'Content-Length', HeaderValue: length });
  const sizeBytes = integerHeader(req, 'x-ms-blob-content-length', true) ?? 0;
  const request = {
    sizeBytes, sequenceNumber: integerHeader(req, 'x-ms-blob-sequence-number', false), headers: parseBlobHttpHeaders(req, true),
    metadata: parseMetadata(req), conditions: parseConditions(req), leaseId: leaseIdOf(req),
  };
  setWriteHeaders(ctx, await ctx.deps.api.createPageBlob(blobRef(ctx), request, ctx.nowMs));
  return { status: 201 };
}

/** Put Page (update), Clear Pages, Put Page From URL: all `comp=page`, told apart by headers. */
export async function putPage(ctx: RequestContext): Promise<Reply> {
  const req = ctx.req;
  const write = requiredHeader(req, 'x-ms-page-write').toLowerCase();
  const range = pageRangeOf(req);
  const options = pageWriteOptions(req);
  const ref = blobRef(ctx);
  let result: PageWriteResult;
  if (write === 'clear') {
    result = await ctx.deps.api.clearPages(ref, range, options, ctx.nowMs);
  } else if (write !== 'update') {
    return wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-page-write', HeaderValue: write });
  } else if (header(req, 'x-ms-copy-source') !== undefined) {
    const source = parseCopySource(req, ctx.deps.accounts);
    await authorizeCopySource(ctx, source);
    result = await ctx.deps.api.putPagesFromUrl(ref, range, source, options, ctx.nowMs);
  } else {
    result = await ctx.deps.api.putPages(ref, range, bodySource(req), options, ctx.nowMs);
  }
  setWriteHeaders(ctx, result);
  ctx.out['x-ms-blob-sequence-number'] = String(result.sequenceNumber);
  return { status: 201 };
}

/** Set Blob Properties with x-ms-blob-content-length: resize. */
export async function resizePageBlob(ctx: RequestContext): Promise<Reply> {
  const size = integerHeader(ctx.req, 'x-ms-blob-content-length', true) ?? 0;
  const result = await ctx.deps.api.resizePageBlob(blobRef(ctx), size, pageWriteOptions(ctx.req), ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  ctx.out['x-ms-blob-sequence-number'] = String(result.sequenceNumber);
  return { status: 200 };
}

/** Set Blob Properties with x-ms-sequence-number-action: max | update | increment. */
export async function updateSequenceNumber(ctx: RequestContext): Promise<Reply> {
  const actionText = requiredHeader(ctx.req, 'x-ms-sequence-number-action').toLowerCase();
  const value = integerHeader(ctx.req, 'x-ms-blob-sequence-number', false);
  let action: SequenceAction;
  if (actionText === 'increment') {
    if (value !== undefined) wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-blob-sequence-number' });
    action = { action: 'increment' };
  } else if (actionText === 'max' || actionText === 'update') {
    if (value === undefined) wireFail('MissingRequiredHeader', { HeaderName: 'x-ms-blob-sequence-number' });
    action = { action: actionText, value };
  } else {
    return wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-sequence-number-action', HeaderValue: actionText });
  }
  const result = await ctx.deps.api.updateSequenceNumber(blobRef(ctx), action, pageWriteOptions(ctx.req), ctx.nowMs);
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  ctx.out['x-ms-blob-sequence-number'] = String(result.sequenceNumber);
  return { status: 200 };
}

export async function getPageRanges(ctx: RequestContext): Promise<Reply> {
  const q = ctx.query.values;
  const previousUrl = header(ctx.req, 'x-ms-previous-snapshot-url');
  if (q.prevsnapshot !== undefined && previousUrl !== undefined) {
    wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-previous-snapshot-url', reason: 'prevsnapshot and x-ms-previous-snapshot-url are mutually exclusive' });
  }
  const previous = previousUrl !== undefined ? await previousFromUrl(ctx, previousUrl) : q.prevsnapshot !== undefined ? { snapshot: q.prevsnapshot } : undefined;
  const rangeText = header(ctx.req, 'x-ms-range') ?? header(ctx.req, 'range');
  const parsed = rangeText === undefined ? undefined : parseByteRange(rangeText);
  if (rangeText !== undefined && parsed === undefined) wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-range', HeaderValue: rangeText });
  const range = parsed === undefined ? undefined : { start: parsed.start, end: parsed.end === undefined ? Number.MAX_SAFE_INTEGER : parsed.end + 1 };
  const options = {
    selector: selectorOf(ctx), range, previous, marker: q.marker, conditions: parseConditions(ctx.req),
    maxResults: q.maxresults === undefined ? undefined : parseMaxResults(ctx),
  };
  const result = await ctx.deps.api.getPageRanges(blobRef(ctx), options, ctx.nowMs);
  setVersionedHeaders(ctx.out, result.blob.etag, result.blob.lastModifiedMs);
  ctx.out['x-ms-blob-content-length'] = String(result.blob.sizeBytes);
  return xmlReply(ctx, renderPageList(result));
}

/** The managed-disk diff names the older snapshot by its (SAS) URL, which must be readable too. */
async function previousFromUrl(ctx: RequestContext, url: string) {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-previous-snapshot-url', HeaderValue: url });
  }
  const snapshot = parsed.searchParams.get('snapshot');
  const target = parseTarget(parsed.pathname, parsed.host, ctx.deps.accounts);
  if (snapshot === null || target.level !== 'blob') return wireFail('PreviousSnapshotNotFound');
  const ref = { account: target.account, container: target.container, blob: target.blob };
  await authorizeCopySource(ctx, { ref, url, selector: { snapshot }, conditions: {}, sourceQuery: [...parsed.searchParams.entries()] });
  return { snapshot, ref };
}

function renderPageList(result: PageRangesResult): string {
  const items = [
    ...result.ranges.map((r) => ({ r, tag: 'PageRange' })),
    ...result.cleared.map((r) => ({ r, tag: 'ClearRange' })),
  ].sort((a, b) => a.r.start - b.r.start);
  let xml = `${XML_DECLARATION}<PageList>`;
  for (const { r, tag } of items) xml += `<${tag}>${el('Start', r.start)}${el('End', r.end - 1)}</${tag}>`;
  if (result.nextMarker !== undefined) xml += el('NextMarker', result.nextMarker);
  return xml + '</PageList>';
}

function pageRangeOf(req: IncomingMessage): PageRange {
  const text = header(req, 'x-ms-range') ?? header(req, 'range');
  if (text === undefined) return wireFail('MissingRequiredHeader', { HeaderName: 'x-ms-range' });
  const parsed = parseByteRange(text);
  if (parsed === undefined || parsed.end === undefined) return wireFail('InvalidPageRange');
  return { start: parsed.start, end: parsed.end + 1 };
}

function pageWriteOptions(req: IncomingMessage): PageWriteOptions {
  return {
    conditions: parseConditions(req),
    leaseId: leaseIdOf(req),
    sequence: {
      le: integerHeader(req, 'x-ms-if-sequence-number-le', false),
      lt: integerHeader(req, 'x-ms-if-sequence-number-lt', false),
      eq: integerHeader(req, 'x-ms-if-sequence-number-eq', false),
    },
  };
}

function integerHeader(req: IncomingMessage, name: string, required: boolean): number | undefined {
  const text = header(req, name);
  if (text === undefined) return required ? wireFail('MissingRequiredHeader', { HeaderName: name }) : undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || text.trim() === '') wireFail('InvalidHeaderValue', { HeaderName: name, HeaderValue: text });
  return value;
}
