// Assertions for Azure errors as the SDK surfaces them: a RestError whose `statusCode` is the HTTP
// status and whose error code is `err.code` (the SDK copies `x-ms-error-code` / `<Code>` there) or
// `err.details.errorCode`. Tests compare codes, never messages (STYLE.md, "Errors").
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

export interface AzureErrorShape {
  statusCode?: number;
  code?: string;
  details?: { errorCode?: string };
}

/** The Azure error code of an SDK error, wherever the SDK put it. */
export function errorCodeOf(error: AzureErrorShape): string | undefined {
  return error.details?.errorCode ?? error.code;
}

/**
 * Awaits `action`, asserts it failed with `status` (and `code` when given), returns the error.
 * `code: undefined` is for responses without a body whose code the SDK may not surface (304).
 */
export async function expectAzureError(action: Promise<unknown>, status: number, code?: string): Promise<AzureErrorShape> {
  let caught: unknown;
  try {
    await action;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected ${status}${code ? ` ${code}` : ''}, but the call succeeded`);
  const error = caught as AzureErrorShape;
  assert.equal(error.statusCode, status, `status: got ${String(error.statusCode)} (${String(errorCodeOf(error))}), want ${status} ${code ?? ''}`);
  if (code !== undefined) assert.equal(errorCodeOf(error), code, `code for status ${status}`);
  return error;
}

export const md5 = (data: Buffer | string): Buffer => createHash('md5').update(data).digest();

/** Deterministic pseudo-random bytes (xorshift32) so multi-MiB tests need no fixtures and no Math.random. */
export function patternBytes(sizeBytes: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(sizeBytes);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < sizeBytes; i += 4) {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    for (let j = 0; j < 4 && i + j < sizeBytes; j++) out[i + j] = (state >>> (j * 8)) & 0xff;
  }
  return out;
}
