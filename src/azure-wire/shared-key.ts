// Shared Key and Shared Key Lite: building the string-to-sign, signing it, and verifying an
// `Authorization` header. Pure functions over a `SignableRequest`; no HTTP library types, so the
// adapter decides how a request is read (raw path, decoded query values, lower-case header names).
//
// Follows "Authorize with Shared Key" (2009-09-19+ formats, Blob service):
//   https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key
// and spec/blob-rest.md §4.1, whose two test vectors live in test/shared-key.test.ts.
//
// Invariants:
// - The resource is signed from the path exactly as sent (still percent-encoded). With path-style
//   URLs the account therefore appears twice: `/devstoreaccount1/devstoreaccount1/container`.
// - Verification never says *why* a signature is wrong beyond the reason code, and compares
//   signatures in constant time. On failure it returns the server's primary string-to-sign so a
//   development build can echo it in `<AuthenticationErrorDetail>`, as Azure does.
//
// Tolerated client quirks (observed, see spec §4.1):
// - Header order: the service sorts x-ms-* names with .NET's en-US culture-aware comparison; the JS
//   and Python SDKs imitate it with a table. Older SDKs sorted ordinally. We try .NET order first,
//   then ordinal. The two differ only for names that contain `-`/`'` in different places, or mix
//   `_` with digits, e.g. .NET puts `x-ms-ab` before `x-ms-a-b`; ordinal puts it after.
// - `@azure/storage-blob` signs Content-Language before Content-Encoding (documented order is the
//   reverse). Only matters when both are sent, so SharedKey verification retries with them swapped.

import { createHmac } from 'node:crypto';

/** What a signature covers, independent of any HTTP library. */
export interface SignableRequest {
  method: string;
  /** The URL path exactly as sent, still percent-encoded, without the query string. */
  rawPath: string;
  /** Query parameters: names as sent, values already URL-decoded, in order. */
  query: ReadonlyArray<readonly [string, string]>;
  /** Header names lower-case. */
  headers: Readonly<Record<string, string | undefined>>;
}

export type SharedKeyScheme = 'SharedKey' | 'SharedKeyLite';

export interface StringToSignOptions {
  headerOrder?: 'dotnet' | 'ordinal';
  contentHeaderOrder?: 'documented' | 'languageFirst';
}

export type SharedKeyResult =
  | { ok: true }
  | { ok: false; reason: 'malformed' | 'unknown-account' | 'bad-signature'; stringToSign?: string };

export interface ParsedAuthorization {
  scheme: 'SharedKey' | 'SharedKeyLite' | 'Bearer';
  accountName?: string;
  signature?: string;
  token?: string;
}

// ---------------------------------------------------------------------------------------------
// String to sign
// ---------------------------------------------------------------------------------------------

const SHARED_KEY_HEADERS_DOCUMENTED = [
  'content-encoding', 'content-language', 'content-length', 'content-md5', 'content-type', 'date',
  'if-modified-since', 'if-match', 'if-none-match', 'if-unmodified-since', 'range',
] as const;

const SHARED_KEY_HEADERS_LANGUAGE_FIRST = [
  'content-language', 'content-encoding', 'content-length', 'content-md5', 'content-type', 'date',
  'if-modified-since', 'if-match', 'if-none-match', 'if-unmodified-since', 'range',
] as const;

const SHARED_KEY_LITE_HEADERS = ['content-md5', 'content-type', 'date'] as const;

/**
 * SharedKey:      VERB \n 11 standard headers \n CanonicalizedHeaders CanonicalizedResource
 * SharedKeyLite:  VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedHeaders CanonicalizedResource
 * Every line ends in `\n` except the resource.
 */
export function stringToSign(
  request: SignableRequest,
  accountName: string,
  scheme: SharedKeyScheme = 'SharedKey',
  options: StringToSignOptions = {},
): string {
  const standardNames = scheme === 'SharedKeyLite'
    ? SHARED_KEY_LITE_HEADERS
    : options.contentHeaderOrder === 'languageFirst'
      ? SHARED_KEY_HEADERS_LANGUAGE_FIRST
      : SHARED_KEY_HEADERS_DOCUMENTED;
  let text = request.method.toUpperCase();
  for (const name of standardNames) text += `\n${standardHeaderValue(request, name)}`;
  const resource = scheme === 'SharedKeyLite'
    ? liteCanonicalizedResource(request, accountName)
    : canonicalizedResource(request, accountName);
  return `${text}\n${canonicalizedHeaders(request, options.headerOrder ?? 'dotnet')}${resource}`;
}

function standardHeaderValue(request: SignableRequest, name: string): string {
  const value = request.headers[name] ?? '';
  // 2015-02-21+: a zero Content-Length is signed as an empty line.
  return name === 'content-length' && value === '0' ? '' : value;
}

/** One `name:value\n` line per x-ms-* header, empty values included (2016-05-31+). */
function canonicalizedHeaders(request: SignableRequest, order: 'dotnet' | 'ordinal'): string {
  const compare = order === 'dotnet' ? compareHeaderNamesDotnet : compareOrdinal;
  const entries: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(request.headers)) {
    const lowerName = name.toLowerCase();
    if (value !== undefined && lowerName.startsWith('x-ms-')) entries.push([lowerName, value.trim()]);
  }
  entries.sort((a, b) => compare(a[0], b[0]));
  return entries.map(([name, value]) => `${name}:${value}\n`).join('');
}

/**
 * `/account/rawPath` then `\nname:v1,v2` per query parameter: names lower-cased and sorted,
 * repeated names written once with their values sorted and comma-joined.
 */
function canonicalizedResource(request: SignableRequest, accountName: string): string {
  if (request.query.length === 0) return resourcePath(request, accountName);
  const valuesByName = new Map<string, string[]>();
  for (const [name, value] of request.query) {
    const lowerName = name.toLowerCase();
    const values = valuesByName.get(lowerName) ?? [];
    values.push(value);
    valuesByName.set(lowerName, values);
  }
  const names = [...valuesByName.keys()].sort(compareOrdinal);
  const params = names.map((name) => `\n${name}:${(valuesByName.get(name) ?? []).sort(compareOrdinal).join(',')}`);
  return resourcePath(request, accountName) + params.join('');
}

/** Shared Key Lite signs only `comp`, in URL form: `/account/rawPath?comp=metadata`. */
function liteCanonicalizedResource(request: SignableRequest, accountName: string): string {
  const comp = request.query.find(([name]) => name.toLowerCase() === 'comp');
  return resourcePath(request, accountName) + (comp === undefined ? '' : `?comp=${comp[1]}`);
}

function resourcePath(request: SignableRequest, accountName: string): string {
  return `/${accountName}${request.rawPath === '' ? '/' : request.rawPath}`;
}

function compareOrdinal(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// .NET (en-US) header-name order
// ---------------------------------------------------------------------------------------------
//
// Mirrors the behaviour of `SharedKeyComparator` in @azure/storage-common (and Python's
// `_storage_header_sort`), which imitate .NET's culture-aware compare for ASCII header names.
// Three levels; a later level is consulted only when every earlier one ties.
//
//   level     weight of a character                                 how strings compare
//   primary   ! # $ % & * . ^ _ ` | ~ + 0-9 a-z (A-Z = a-z),         weights with 0s dropped,
//             in that order; `'`, `-` and everything else = 0       lexicographic, shorter first
//   case      A-Z = 1, everything else = 0                          same as primary
//   hyphen    ordinary = 0 < end of string < `'` < `-`              position by position, no dropping
//
// So `-` is invisible until the last level, where the name whose first hyphen comes *later* sorts
// first: x-ms-ab < x-ms-a-b (ordinal says the opposite, since '-' < 'b').
// Non-ASCII characters weigh 0 on every level (header names are ASCII tokens). A full tie falls back
// to ordinal so the order is total.

const PRIMARY_ORDER = "!#$%&*.^_`|~+0123456789abcdefghijklmnopqrstuvwxyz";
const PRIMARY_WEIGHTS = weightTable((char) => PRIMARY_ORDER.indexOf(char.toLowerCase()) + 1);
const CASE_WEIGHTS = weightTable((char) => (char >= 'A' && char <= 'Z' ? 1 : 0));
const HYPHEN_END_OF_STRING = 1;
const HYPHEN_WEIGHTS = weightTable((char) => (char === "'" ? 2 : char === '-' ? 3 : 0));

function weightTable(weightOf: (char: string) => number): readonly number[] {
  return Array.from({ length: 128 }, (_, code) => weightOf(String.fromCharCode(code)));
}

function weightAt(name: string, index: number, weights: readonly number[]): number {
  return weights[name.charCodeAt(index)] ?? 0;
}

export function compareHeaderNamesDotnet(a: string, b: string): number {
  return compareSignificant(a, b, PRIMARY_WEIGHTS)
    || compareSignificant(a, b, CASE_WEIGHTS)
    || compareHyphens(a, b)
    || compareOrdinal(a, b);
}

function compareSignificant(a: string, b: string, weights: readonly number[]): number {
  const weightsA = significantWeights(a, weights);
  const weightsB = significantWeights(b, weights);
  const length = Math.min(weightsA.length, weightsB.length);
  for (let k = 0; k < length; k++) {
    const difference = (weightsA[k] ?? 0) - (weightsB[k] ?? 0);
    if (difference !== 0) return difference;
  }
  return weightsA.length - weightsB.length;
}

function significantWeights(name: string, weights: readonly number[]): number[] {
  const result: number[] = [];
  for (let index = 0; index < name.length; index++) {
    const weight = weightAt(name, index, weights);
    if (weight !== 0) result.push(weight);
  }
  return result;
}

function compareHyphens(a: string, b: string): number {
  const length = Math.max(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const weightA = index < a.length ? weightAt(a, index, HYPHEN_WEIGHTS) : HYPHEN_END_OF_STRING;
    const weightB = index < b.length ? weightAt(b, index, HYPHEN_WEIGHTS) : HYPHEN_END_OF_STRING;
    if (weightA !== weightB) return weightA - weightB;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

/** base64(HMAC-SHA256(base64decode(key), UTF-8(stringToSign))) */
export function computeSignature(stringToSign: string, accountKeyBase64: string): string {
  return createHmac('sha256', decodedKey(accountKeyBase64)).update(stringToSign, 'utf8').digest('base64');
}

/** Account keys are few and fixed; decoding one per request showed in profiles. */
const DECODED_KEYS = new Map<string, Buffer>();
const DECODED_KEYS_MAX = 1024;

function decodedKey(accountKeyBase64: string): Buffer {
  let key = DECODED_KEYS.get(accountKeyBase64);
  if (key === undefined) {
    if (DECODED_KEYS.size >= DECODED_KEYS_MAX) DECODED_KEYS.clear();
    key = Buffer.from(accountKeyBase64, 'base64');
    DECODED_KEYS.set(accountKeyBase64, key);
  }
  return key;
}

/** The full `Authorization` value a well-behaved client sends: documented order, .NET header sort. */
export function signSharedKey(request: SignableRequest, accountName: string, accountKeyBase64: string): string {
  return `SharedKey ${accountName}:${computeSignature(stringToSign(request, accountName), accountKeyBase64)}`;
}

// ---------------------------------------------------------------------------------------------
// Parsing and verification
// ---------------------------------------------------------------------------------------------

const AUTHORIZATION_PATTERN = /^([A-Za-z]+) +(\S+)$/;
const SHARED_KEY_CREDENTIALS_PATTERN = /^([^:\s]+):([A-Za-z0-9+/]+={0,2})$/;
const SCHEMES_BY_LOWER_NAME = { sharedkey: 'SharedKey', sharedkeylite: 'SharedKeyLite', bearer: 'Bearer' } as const;

/**
 * `SharedKey acct:sig`, `SharedKeyLite acct:sig` or `Bearer token`; undefined when malformed.
 * Scheme names are matched case-insensitively (RFC 9110 §11.1).
 */
export function parseAuthorizationHeader(value: string): ParsedAuthorization | undefined {
  const match = AUTHORIZATION_PATTERN.exec(value.trim());
  if (match === null) return undefined;
  const schemeName = (match[1] ?? '').toLowerCase();
  const credentials = match[2] ?? '';
  if (!Object.hasOwn(SCHEMES_BY_LOWER_NAME, schemeName)) return undefined;
  const scheme = SCHEMES_BY_LOWER_NAME[schemeName as keyof typeof SCHEMES_BY_LOWER_NAME];
  if (scheme === 'Bearer') return { scheme, token: credentials };
  const keyMatch = SHARED_KEY_CREDENTIALS_PATTERN.exec(credentials);
  if (keyMatch === null) return undefined;
  return { scheme, accountName: keyMatch[1] ?? '', signature: keyMatch[2] ?? '' };
}

/**
 * Accepts a signature made with any of the account's keys (key1/key2) over any tolerated layout.
 * Order of checks: malformed header → account mismatch → unknown account → signature.
 */
export function verifySharedKey(
  request: SignableRequest,
  authorization: string | ParsedAuthorization,
  keysFor: (accountName: string) => readonly string[] | undefined,
  expectedAccount: string,
): SharedKeyResult {
  // The adapter has usually parsed the header already (to tell Shared Key from Bearer); it passes that.
  const parsed = typeof authorization === 'string' ? parseAuthorizationHeader(authorization) : authorization;
  if (parsed === undefined || parsed.scheme === 'Bearer') return { ok: false, reason: 'malformed' };
  const { scheme, accountName, signature = '' } = parsed;
  const primary = (): string => stringToSign(request, expectedAccount, scheme, LAYOUTS[0]);
  if (accountName !== expectedAccount) return { ok: false, reason: 'bad-signature', stringToSign: primary() };
  const keys = keysFor(expectedAccount);
  if (keys === undefined) return { ok: false, reason: 'unknown-account' };
  // Nearly every request matches the first layout: try it before building the others.
  const first = primary();
  if (keys.some((key) => signaturesEqual(computeSignature(first, key), signature))) return { ok: true };
  const tried = new Set<string>([first]);
  for (const layout of LAYOUTS.slice(1)) {
    if (scheme === 'SharedKeyLite' && layout.contentHeaderOrder === 'languageFirst') continue;
    const candidate = stringToSign(request, expectedAccount, scheme, layout);
    if (tried.has(candidate)) continue;
    tried.add(candidate);
    if (keys.some((key) => signaturesEqual(computeSignature(candidate, key), signature))) return { ok: true };
  }
  return { ok: false, reason: 'bad-signature', stringToSign: first };
}

/**
 * Tolerated layouts, most likely first; a later one is built only when the earlier ones failed
 * (usually they all coincide, and the first matches). Shared Key Lite signs no content headers,
 * so the content-header swap applies to Shared Key only.
 */
const LAYOUTS: readonly [StringToSignOptions, ...StringToSignOptions[]] = [
  { headerOrder: 'dotnet', contentHeaderOrder: 'documented' },
  { headerOrder: 'ordinal', contentHeaderOrder: 'documented' },
  { headerOrder: 'dotnet', contentHeaderOrder: 'languageFirst' },
  { headerOrder: 'ordinal', contentHeaderOrder: 'languageFirst' },
];

/**
 * Constant time in the contents: every character is compared, with no early exit. Lengths are public (a
 * valid signature is always 44 characters). Both are base64 text, so comparing UTF-16 code units is exact;
 * timingSafeEqual would need two buffers allocated per request.
 */
function signaturesEqual(expected: string, actual: string): boolean {
  if (expected.length !== actual.length) return false;
  let difference = 0;
  for (let index = 0; index < expected.length; index++) difference |= expected.charCodeAt(index) ^ actual.charCodeAt(index);
  return difference === 0;
}
