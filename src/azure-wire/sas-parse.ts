// Reading a shared access signature out of a request's query: which kind it is (service, user
// delegation, account), the fields exactly as sent (they are what the client signed), and the parsed
// forms the authorization checks need (times in ms, the IP range, the protocol).
//
// Follows "Create a service SAS", "Create a user delegation SAS", "Create an account SAS":
//   https://learn.microsoft.com/rest/api/storageservices/create-service-sas
//   https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
//   https://learn.microsoft.com/rest/api/storageservices/create-account-sas
// and spec/versioning-softdelete.md §10.
//
// Invariants:
// - A parsed SAS keeps every signed field verbatim. Nothing here reorders permission letters or
//   reformats dates: the signature covers the literal text.
// - Anything unknown or malformed is a failure with code AuthenticationFailed (403) and a reason
//   meant for logs and `AuthenticationErrorDetail`, never for branching.
// - The kind is decided by which fields are present:
//
//     skoid/sktid/skt/ske/sks/skv present  → user delegation (needs sr; no si, ss, srt)
//     ss or srt present                    → account          (needs ss, srt; no sr, si)
//     sr present                           → service
//     otherwise                            → malformed
//
// Tolerated client quirks: query names are matched case-insensitively; an empty value counts as
// absent (the SDKs never send one, and it signs as an empty line either way).

import type { WireErrorCode } from './errors.js';

const SAS_ERROR_CODES = [
  'AuthenticationFailed',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationSourceIPMismatch',
] as const satisfies readonly WireErrorCode[];

/** Every way a SAS check can fail; each is a 403 row in errors.ts. */
export type SasErrorCode = (typeof SAS_ERROR_CODES)[number];

export interface SasFailure {
  ok: false;
  code: SasErrorCode;
  /** Why, for logs and AuthenticationErrorDetail. Do not branch on it. */
  reason: string;
  /** The primary string-to-sign the server computed, when the signature did not match. */
  stringToSign?: string;
}

export type SasCheck = { ok: true } | SasFailure;

/** Permission letters across the blob service (10.4); `u` is account-only (queue/table update). */
export type SasPermission =
  | 'r' | 'a' | 'c' | 'w' | 'd' | 'x' | 'y' | 'l' | 't' | 'f' | 'm' | 'e' | 'o' | 'p' | 'i' | 'u';

/** `sr`: container, blob, blob snapshot, blob version, (HNS) directory. */
export type SignedResource = 'c' | 'b' | 'bs' | 'bv' | 'd';

export interface IpRange {
  /** IPv4 addresses as unsigned 32-bit numbers, inclusive. */
  first: number;
  last: number;
}

/** The `rsc*` overrides a service or user-delegation SAS puts on Get Blob / Get Blob Properties. */
export interface SasResponseHeaders {
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  contentType?: string;
}

/** The `sk*` fields naming a user delegation key, as sent; the caller looks the key's value up by them. */
export interface UserDelegationKeyFields {
  signedObjectId: string;
  signedTenantId: string;
  signedStartsOn: string;
  signedExpiresOn: string;
  signedService: string;
  signedVersion: string;
}

interface SasCommon {
  /** `sv`: picks the string-to-sign layout, and the request's version when x-ms-version is absent. */
  version: string;
  /** `sp` verbatim; absent only on a service SAS whose stored access policy supplies it. */
  permissions?: string;
  /** `st`, `se` verbatim and parsed. */
  startsOn?: string;
  expiresOn?: string;
  startsAtMs?: number;
  expiresAtMs?: number;
  /** `sip` verbatim and parsed. */
  ipRange?: string;
  allowedIps?: IpRange;
  /** `spr` verbatim; `httpsOnly` is its meaning. */
  protocol?: string;
  httpsOnly: boolean;
  /** `ses` (2020-12-06+): requests under this SAS must use this encryption scope. */
  encryptionScope?: string;
  /** `sig` */
  signature: string;
}

export interface ServiceSas extends SasCommon {
  kind: 'service';
  resource: SignedResource;
  /** `si`: a signed identifier (stored access policy) on the container. */
  identifier?: string;
  /** `sdd`, only with sr=d: how many path segments the directory has. */
  directoryDepth?: number;
  responseHeaders: SasResponseHeaders;
}

export interface UserDelegationSas extends SasCommon {
  kind: 'user-delegation';
  permissions: string;
  expiresOn: string;
  expiresAtMs: number;
  resource: SignedResource;
  directoryDepth?: number;
  responseHeaders: SasResponseHeaders;
  key: UserDelegationKeyFields;
  keyStartsAtMs: number;
  keyExpiresAtMs: number;
  /** `saoid`, `suoid`, `scid` (2020-02-10+), `skdutid`, `sduoid` (2025-07-05+). */
  preauthorizedAgentObjectId?: string;
  agentObjectId?: string;
  correlationId?: string;
  delegatedUserTenantId?: string;
  delegatedUserObjectId?: string;
  /** `srh`, `srq` (2026-04-06+): comma-separated names of headers / query parameters whose values are signed. */
  signedRequestHeaders?: string;
  signedRequestQuery?: string;
}

export interface AccountSas extends SasCommon {
  kind: 'account';
  permissions: string;
  expiresOn: string;
  expiresAtMs: number;
  /** `ss` verbatim: b blob, f file, q queue, t table. */
  services: string;
  /** `srt` verbatim: s service, c container, o object. */
  resourceTypes: string;
}

export type ParsedSas = ServiceSas | UserDelegationSas | AccountSas;

export type SasParseResult = { ok: true; sas: ParsedSas } | SasFailure;

// ---------------------------------------------------------------------------------------------
// Reading the query
// ---------------------------------------------------------------------------------------------

const SAS_QUERY_NAMES = [
  'sv', 'ss', 'srt', 'sp', 'st', 'se', 'sip', 'spr', 'sr', 'sig', 'si', 'sdd', 'ses',
  'skoid', 'sktid', 'skt', 'ske', 'sks', 'skv', 'saoid', 'suoid', 'scid', 'skdutid', 'sduoid', 'srh', 'srq',
  'rscc', 'rscd', 'rsce', 'rscl', 'rsct',
] as const;

type SasQueryName = (typeof SAS_QUERY_NAMES)[number];
type SasQuery = Partial<Record<SasQueryName, string>>;

const USER_DELEGATION_KEY_NAMES = ['skoid', 'sktid', 'skt', 'ske', 'sks', 'skv'] as const;

/** The oldest layout implemented; 2012-02-12 and 2013-08-15 signed a different resource form. */
export const SAS_VERSION_MIN = '2015-04-05';
const USER_DELEGATION_VERSION_MIN = '2018-11-09';
const VERSION_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

const BLOB_PERMISSION_LETTERS = 'racwdxyltfmeiop';
const ACCOUNT_PERMISSION_LETTERS = 'rwdxylacuptfi';
const ACCOUNT_SERVICE_LETTERS = 'bfqt';
const ACCOUNT_RESOURCE_TYPE_LETTERS = 'sco';

/** Minimum `sv` for each signed resource (the JS SDK allows bv from 2019-10-10, see §10.1). */
const RESOURCE_VERSION_MIN: Readonly<Record<SignedResource, string>> = {
  c: SAS_VERSION_MIN, b: SAS_VERSION_MIN, bs: '2018-11-09', bv: '2019-10-10', d: '2020-02-10',
};

/** True when the request carries a SAS at all (`sig` present); then it must parse and verify. */
export function isSasRequest(query: ReadonlyArray<readonly [string, string]>): boolean {
  return query.some(([name]) => name.toLowerCase() === 'sig');
}

/** Reads a SAS from decoded query parameters. The request's `snapshot`/`versionid` are not part of it. */
export function parseSas(query: ReadonlyArray<readonly [string, string]>): SasParseResult {
  const collected = collectSasQuery(query);
  if (typeof collected === 'string') return malformed(collected);
  const sasQuery = collected;
  if (sasQuery.sig === undefined) return malformed('sig is missing');
  if (sasQuery.sv === undefined || !VERSION_PATTERN.test(sasQuery.sv)) return malformed('sv is missing or not a version');
  if (sasQuery.sv < SAS_VERSION_MIN) return malformed(`sv ${sasQuery.sv} is older than ${SAS_VERSION_MIN}`);
  const common = parseCommon(sasQuery, sasQuery.sig, sasQuery.sv);
  if (typeof common === 'string') return malformed(common);
  const isUserDelegation = USER_DELEGATION_KEY_NAMES.some((name) => sasQuery[name] !== undefined);
  const isAccount = sasQuery.ss !== undefined || sasQuery.srt !== undefined;
  const sas = isUserDelegation
    ? parseUserDelegationSas(sasQuery, common)
    : isAccount
      ? parseAccountSas(sasQuery, common)
      : parseServiceSas(sasQuery, common);
  return typeof sas === 'string' ? malformed(sas) : { ok: true, sas };
}

/** The SAS parameters by lower-case name; a reason string when one is repeated. */
function collectSasQuery(query: ReadonlyArray<readonly [string, string]>): SasQuery | string {
  const known: ReadonlySet<string> = new Set(SAS_QUERY_NAMES);
  const result: SasQuery = {};
  const seen = new Set<string>();
  for (const [rawName, value] of query) {
    const name = rawName.toLowerCase();
    if (!known.has(name)) continue;
    if (seen.has(name)) return `${name} is repeated`;
    seen.add(name);
    if (value !== '') result[name as SasQueryName] = value;
  }
  return result;
}

function parseCommon(sasQuery: SasQuery, signature: string, version: string): SasCommon | string {
  const startsAtMs = sasQuery.st === undefined ? undefined : parseSasTime(sasQuery.st);
  const expiresAtMs = sasQuery.se === undefined ? undefined : parseSasTime(sasQuery.se);
  const allowedIps = sasQuery.sip === undefined ? undefined : parseIpRange(sasQuery.sip);
  const httpsOnly = sasQuery.spr === undefined ? false : parseProtocol(sasQuery.spr);
  if (Number.isNaN(startsAtMs)) return 'st is not an ISO 8601 UTC time';
  if (Number.isNaN(expiresAtMs)) return 'se is not an ISO 8601 UTC time';
  if (allowedIps === null) return 'sip is not an IPv4 address or range';
  if (httpsOnly === null) return 'spr is neither https nor https,http';
  return {
    version,
    permissions: sasQuery.sp,
    startsOn: sasQuery.st,
    expiresOn: sasQuery.se,
    startsAtMs,
    expiresAtMs,
    ipRange: sasQuery.sip,
    allowedIps,
    protocol: sasQuery.spr,
    httpsOnly,
    encryptionScope: sasQuery.ses,
    signature,
  };
}

function parseServiceSas(sasQuery: SasQuery, common: SasCommon): ServiceSas | string {
  const resource = parseSignedResource(sasQuery, common.version);
  if (typeof resource === 'string') return resource;
  const identifier = sasQuery.si;
  if (identifier === undefined && (common.permissions === undefined || common.expiresOn === undefined)) {
    return 'sp and se are required without a stored access policy (si)';
  }
  const letters = checkLetters('sp', common.permissions, BLOB_PERMISSION_LETTERS);
  if (letters !== undefined) return letters;
  return { ...common, kind: 'service', ...resource, identifier, responseHeaders: responseHeaders(sasQuery) };
}

function parseUserDelegationSas(sasQuery: SasQuery, common: SasCommon): UserDelegationSas | string {
  const { skoid, sktid, skt, ske, sks, skv } = sasQuery;
  const { permissions, expiresOn, expiresAtMs } = common;
  if (skoid === undefined || sktid === undefined || skt === undefined || ske === undefined || sks === undefined || skv === undefined) {
    return 'a user delegation SAS needs all of skoid, sktid, skt, ske, sks, skv';
  }
  if (common.version < USER_DELEGATION_VERSION_MIN) return `a user delegation SAS needs sv ${USER_DELEGATION_VERSION_MIN} or later`;
  if (sasQuery.si !== undefined) return 'a user delegation SAS cannot use a stored access policy (si)';
  if (sasQuery.ss !== undefined || sasQuery.srt !== undefined) return 'a user delegation SAS cannot carry ss or srt';
  if (sks !== 'b') return 'sks must be b (the blob service)';
  if (permissions === undefined || expiresOn === undefined || expiresAtMs === undefined) return 'sp and se are required';
  const keyStartsAtMs = parseSasTime(skt);
  const keyExpiresAtMs = parseSasTime(ske);
  if (Number.isNaN(keyStartsAtMs) || Number.isNaN(keyExpiresAtMs)) return 'skt or ske is not an ISO 8601 UTC time';
  const resource = parseSignedResource(sasQuery, common.version);
  if (typeof resource === 'string') return resource;
  const letters = checkLetters('sp', permissions, BLOB_PERMISSION_LETTERS);
  if (letters !== undefined) return letters;
  return {
    ...common,
    kind: 'user-delegation',
    permissions,
    expiresOn,
    expiresAtMs,
    ...resource,
    responseHeaders: responseHeaders(sasQuery),
    key: { signedObjectId: skoid, signedTenantId: sktid, signedStartsOn: skt, signedExpiresOn: ske, signedService: sks, signedVersion: skv },
    keyStartsAtMs,
    keyExpiresAtMs,
    preauthorizedAgentObjectId: sasQuery.saoid,
    agentObjectId: sasQuery.suoid,
    correlationId: sasQuery.scid,
    delegatedUserTenantId: sasQuery.skdutid,
    delegatedUserObjectId: sasQuery.sduoid,
    signedRequestHeaders: sasQuery.srh,
    signedRequestQuery: sasQuery.srq,
  };
}

function parseAccountSas(sasQuery: SasQuery, common: SasCommon): AccountSas | string {
  const { ss, srt } = sasQuery;
  const { permissions, expiresOn, expiresAtMs } = common;
  if (ss === undefined || srt === undefined) return 'an account SAS needs both ss and srt';
  if (sasQuery.sr !== undefined || sasQuery.si !== undefined) return 'an account SAS cannot carry sr or si';
  if (permissions === undefined || expiresOn === undefined || expiresAtMs === undefined) return 'sp and se are required';
  const letters = checkLetters('sp', permissions, ACCOUNT_PERMISSION_LETTERS)
    ?? checkLetters('ss', ss, ACCOUNT_SERVICE_LETTERS)
    ?? checkLetters('srt', srt, ACCOUNT_RESOURCE_TYPE_LETTERS);
  if (letters !== undefined) return letters;
  return { ...common, kind: 'account', permissions, expiresOn, expiresAtMs, services: ss, resourceTypes: srt };
}

function parseSignedResource(sasQuery: SasQuery, version: string): { resource: SignedResource; directoryDepth?: number } | string {
  const resource = sasQuery.sr;
  if (resource === undefined) return 'sr is missing';
  if (!Object.hasOwn(RESOURCE_VERSION_MIN, resource)) return `sr=${resource} is not a blob service resource`;
  const signedResource = resource as SignedResource;
  if (version < RESOURCE_VERSION_MIN[signedResource]) return `sr=${resource} needs sv ${RESOURCE_VERSION_MIN[signedResource]} or later`;
  if (signedResource !== 'd') return sasQuery.sdd === undefined ? { resource: signedResource } : 'sdd is only valid with sr=d';
  const depth = /^\d{1,3}$/.test(sasQuery.sdd ?? '') ? Number(sasQuery.sdd) : NaN;
  if (!(depth >= 1)) return 'sr=d needs sdd, a positive directory depth';
  return { resource: signedResource, directoryDepth: depth };
}

/** A reason when `value` has a letter outside `allowed` (or none at all). */
function checkLetters(name: string, value: string | undefined, allowed: string): string | undefined {
  if (value === undefined) return undefined;
  for (const letter of value) {
    if (!allowed.includes(letter)) return `${name}=${value} has an unknown letter '${letter}'`;
  }
  return undefined;
}

function responseHeaders(sasQuery: SasQuery): SasResponseHeaders {
  return {
    cacheControl: sasQuery.rscc,
    contentDisposition: sasQuery.rscd,
    contentEncoding: sasQuery.rsce,
    contentLanguage: sasQuery.rscl,
    contentType: sasQuery.rsct,
  };
}

function malformed(reason: string): SasFailure {
  return { ok: false, code: 'AuthenticationFailed', reason };
}

// ---------------------------------------------------------------------------------------------
// Field formats
// ---------------------------------------------------------------------------------------------

// Azure accepts `YYYY-MM-DD`, `YYYY-MM-DDThh:mmZ`, `YYYY-MM-DDThh:mm:ssZ`, fractions of a second
// (stored access policies come back with 7 digits), and explicit offsets. SDKs send `…ssZ`.
const SAS_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2}))?$/;
const MINUTE_MS = 60_000;

/**
 * Milliseconds since the epoch, or NaN when not a valid ISO 8601 time. Written out rather than
 * `Date.parse`, which also takes RFC 1123 and local-time forms that Azure rejects.
 */
export function parseSasTime(text: string): number {
  const match = SAS_TIME_PATTERN.exec(text);
  if (match === null) return NaN;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((index) => Number(match[index] ?? '0')) as
    [number, number, number, number, number, number];
  const millisecond = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const daysInMonth = (Date.UTC(year, month, 1) - Date.UTC(year, month - 1, 1)) / (24 * 60 * MINUTE_MS);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return NaN;
  return Date.UTC(year, month - 1, day, hour, minute, second, millisecond) - offsetMs(match[8] ?? 'Z');
}

function offsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * MINUTE_MS;
}

/** `a.b.c.d` or `a.b.c.d-e.f.g.h`; null when malformed or reversed. */
export function parseIpRange(text: string): IpRange | null {
  const [firstText = '', lastText = firstText, extra] = text.split('-');
  if (extra !== undefined) return null;
  const first = parseIpv4(firstText);
  const last = parseIpv4(lastText);
  if (first === undefined || last === undefined || first > last) return null;
  return { first, last };
}

/**
 * An IPv4 address as an unsigned 32-bit number. Accepts the IPv4-mapped IPv6 form Node reports for
 * dual-stack sockets (`::ffff:10.0.0.1`); undefined for anything else, including real IPv6.
 */
export function parseIpv4(text: string): number | undefined {
  const bare = text.toLowerCase().startsWith('::ffff:') ? text.slice('::ffff:'.length) : text;
  const parts = bare.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/** `https` → true (HTTPS only); `https,http` (either order) → false; anything else → null. */
function parseProtocol(text: string): boolean | null {
  if (text === 'https') return true;
  if (text === 'https,http' || text === 'http,https') return false;
  return null;
}
