// Conditional headers (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since) as
// Azure evaluates them: https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations
// Reads that fail If-None-Match / If-Modified-Since answer 304 (NotModified); everything else 412.
// A write to a resource that does not exist fails If-Match but ignores the other conditions.
import { fail, type BlobErrorCode } from '../errors.js';
import type { Conditions } from './model.js';

export interface Versioned {
  etag: string;
  lastModifiedMs: number;
}

const stripQuotes = (tag: string): string => tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

function etagMatches(header: string, etag: string): boolean {
  const wanted = stripQuotes(etag);
  return header.split(',').some((t) => t.trim() === '*' || stripQuotes(t) === wanted);
}

/** Last-Modified has second precision on the wire, so compare whole seconds. */
const seconds = (ms: number): number => Math.floor(ms / 1000);

export function checkConditions(
  conditions: Conditions,
  target: Versioned | undefined,
  mode: 'read' | 'write',
  failCode: BlobErrorCode = 'ConditionNotMet',
): void {
  const { ifMatch, ifNoneMatch, ifModifiedSinceMs, ifUnmodifiedSinceMs } = conditions;
  if (!target) {
    if (ifMatch !== undefined) fail(failCode);
    return;
  }
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, target.etag)) fail(failCode);
  } else if (ifUnmodifiedSinceMs !== undefined && seconds(target.lastModifiedMs) > seconds(ifUnmodifiedSinceMs)) {
    fail(failCode);
  }
  const notModified: BlobErrorCode = mode === 'read' && failCode === 'ConditionNotMet' ? 'NotModified' : failCode;
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === '*') {
      if (mode === 'read') fail('UnsatisfiableCondition');
      fail('BlobAlreadyExists');
    }
    if (etagMatches(ifNoneMatch, target.etag)) fail(notModified);
  } else if (ifModifiedSinceMs !== undefined && seconds(target.lastModifiedMs) <= seconds(ifModifiedSinceMs)) {
    fail(notModified);
  }
}

export function hasConditions(conditions: Conditions): boolean {
  return Object.values(conditions).some((v) => v !== undefined);
}
