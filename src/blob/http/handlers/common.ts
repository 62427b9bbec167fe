// Small pieces every handler uses: XML replies, write-result headers, listing parameters and the
// lease action header set (shared by Lease Container and Lease Blob, spec §16).

import type { IncomingMessage } from 'node:http';
import type { BlobSelector, LeaseAction, LeaseResult, WriteResult } from '../../service/model.js';
import { wireFail } from '../../../azure-wire/errors.js';
import { setVersionedHeaders } from '../render.js';
import { header, requiredHeader, type Reply, type RequestContext } from '../request.js';

export const LIST_MAX_RESULTS = 5000;

export function xmlReply(ctx: RequestContext, body: string | Buffer, status = 200): Reply {
  ctx.out['Content-Type'] = 'application/xml';
  return { status, body };
}

/** ETag, Last-Modified, Content-MD5 (when the service computed one) and the encryption flag. */
export function setWriteHeaders(ctx: RequestContext, result: WriteResult): void {
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  if (result.contentMd5 !== undefined) ctx.out['Content-MD5'] = result.contentMd5;
  if (result.versionId !== undefined) ctx.out['x-ms-version-id'] = result.versionId;
  ctx.out['x-ms-request-server-encrypted'] = 'true';
}

/** `?snapshot=` / `?versionid=`: which snapshot or version a read or delete addresses. */
export function selectorOf(ctx: RequestContext): BlobSelector | undefined {
  const { snapshot, versionid } = ctx.query.values;
  if (snapshot === undefined && versionid === undefined) return undefined;
  return { snapshot, versionId: versionid };
}

/** `maxresults`: absent → 5000; ≤ 0 → 400; above 5000 → 5000 (spec §13). */
export function parseMaxResults(ctx: RequestContext): number {
  const text = ctx.query.values.maxresults;
  if (text === undefined) return LIST_MAX_RESULTS;
  const value = Number(text);
  if (!Number.isInteger(value) || text.trim() === '') {
    wireFail('InvalidQueryParameterValue', { QueryParameterName: 'maxresults', QueryParameterValue: text });
  }
  if (value <= 0) wireFail('OutOfRangeQueryParameterValue', { QueryParameterName: 'maxresults', QueryParameterValue: text });
  return Math.min(value, LIST_MAX_RESULTS);
}

/** `include=a,b`: the set of values, each checked against what the operation knows. */
export function parseInclude(ctx: RequestContext, known: ReadonlySet<string>): Set<string> {
  const text = ctx.query.values.include;
  const values = new Set<string>();
  if (text === undefined || text === '') return values;
  for (const raw of text.split(',')) {
    const value = raw.trim().toLowerCase();
    if (!known.has(value)) wireFail('InvalidQueryParameterValue', { QueryParameterName: 'include', QueryParameterValue: text });
    values.add(value);
  }
  return values;
}

function integerHeader(req: IncomingMessage, name: string, text: string): number {
  const value = Number(text);
  return Number.isInteger(value) && text.trim() !== '' ? value : wireFail('InvalidHeaderValue', { HeaderName: name, HeaderValue: text });
}

export function parseLeaseAction(req: IncomingMessage): LeaseAction {
  const action = requiredHeader(req, 'x-ms-lease-action').toLowerCase();
  switch (action) {
    case 'acquire': {
      const durationText = requiredHeader(req, 'x-ms-lease-duration');
      const proposedLeaseId = header(req, 'x-ms-proposed-lease-id');
      const durationSec = integerHeader(req, 'x-ms-lease-duration', durationText);
      return proposedLeaseId === undefined ? { action, durationSec } : { action, durationSec, proposedLeaseId };
    }
    case 'renew':
    case 'release':
      return { action, leaseId: requiredHeader(req, 'x-ms-lease-id') };
    case 'change':
      return { action, leaseId: requiredHeader(req, 'x-ms-lease-id'), proposedLeaseId: requiredHeader(req, 'x-ms-proposed-lease-id') };
    case 'break': {
      const periodText = header(req, 'x-ms-lease-break-period');
      return periodText === undefined ? { action } : { action, breakPeriodSec: integerHeader(req, 'x-ms-lease-break-period', periodText) };
    }
    default:
      return wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-lease-action', HeaderValue: action });
  }
}

/** acquire 201, break 202, others 200; lease id on acquire/renew/change, lease time on break. */
export function leaseReply(ctx: RequestContext, action: LeaseAction, result: LeaseResult): Reply {
  setVersionedHeaders(ctx.out, result.etag, result.lastModifiedMs);
  if (result.leaseId !== undefined && action.action !== 'release' && action.action !== 'break') {
    ctx.out['x-ms-lease-id'] = result.leaseId;
  }
  if (action.action === 'break') ctx.out['x-ms-lease-time'] = String(result.leaseTimeSec ?? 0);
  const status = action.action === 'acquire' ? 201 : action.action === 'break' ? 202 : 200;
  return { status };
}
