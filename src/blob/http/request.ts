// Reading an Azure Blob REST request: which account/container/blob it addresses, its query, and the
// typed values of the headers operations share (conditions, ranges, metadata, content headers, lease
// id, bodies, copy sources). Pure functions over `IncomingMessage`; nothing here calls the service.
//
// Addressing follows spec/blob-rest.md §1 (Azurite's rule): when the Host is an IP address, `localhost`
// or `host.docker.internal`, the account is the first path segment (path style); otherwise a Host of
// the form `<account>.blob.<anything>` names the account if that account exists (host style), and
// anything else falls back to path style.
//
//   path style   /devstoreaccount1/photos/2024/cat.jpg     account | container | blob "2024/cat.jpg"
//   host style   devstoreaccount1.blob.localhost  /photos/2024/cat.jpg
//
// Names are percent-decoded here; the raw path is kept for Shared Key, which signs it as sent (§4.1).
// Query values are decoded with decodeURIComponent only (a literal `+` stays `+`: base64 block ids
// sent unencoded keep their meaning).

import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { BlobApi } from '../service/api.js';
import type { AccountRegistry } from '../service/accounts.js';
import { parseTier } from '../service/tiers.js';
import type {
  AccessTier, BlobHttpHeaders, BlobRef, BodySource, ByteRange, Conditions, ContainerRef, ContentStream, CopySource, Metadata,
} from '../service/model.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { notImplemented, wireFail } from '../../azure-wire/errors.js';
import { parseHttpDate } from '../../azure-wire/format.js';
import { isHttps, type BearerPrincipal, type BlobIdentity } from './identity.js';

export interface BlobHandlerDeps {
  api: BlobApi;
  accounts: AccountRegistry;
  /** Service time: what rules (retention, leases, expiry) run on. Tests hand a ManualClock. */
  clock: Clock;
  /**
   * Real time, for the one check that compares with the client's own clock: the 15-minute
   * x-ms-date skew. It stays real when tests move `clock` days ahead.
   */
  wallClock: Clock;
  logger: Logger;
  /** Bearer tokens, RBAC and user delegation keys (identity.ts); absent: bearer tokens answer 501. */
  identity?: BlobIdentity;
}

export type Level = 'account' | 'container' | 'blob';

export interface Target {
  account: string;
  container: string;
  blob: string;
  level: Level;
  /** The account came from the Host (`acct.blob.host`), not from the first path segment. */
  hostStyle: boolean;
}

export interface Query {
  /** Every parameter in order, names as sent, values decoded: what Shared Key signs. */
  readonly list: ReadonlyArray<readonly [string, string]>;
  /** First value of each name. */
  readonly values: Readonly<Record<string, string | undefined>>;
}

/** Everything a handler needs about one request. Built once per request by the server. */
export interface RequestContext {
  readonly deps: BlobHandlerDeps;
  readonly req: IncomingMessage;
  readonly method: string;
  /** Path exactly as sent, still percent-encoded. */
  readonly rawPath: string;
  readonly query: Query;
  readonly target: Target;
  /** Read once from the clock; passed to every service call. */
  readonly nowMs: number;
  readonly requestId: string;
  /** Response headers so far (common ones are filled in before the handler runs). */
  readonly out: OutgoingHttpHeaders;
  /** How the request was authorized; set by auth.ts before the handler runs. */
  readonly auth: { credential: 'shared-key' | 'sas' | 'bearer' | 'anonymous'; principal?: BearerPrincipal };
}

/** What a handler answers; headers go into `ctx.out`. */
export interface Reply {
  status: number;
  body?: string | Buffer;
  stream?: ContentStream;
}

export const XML_BODY_MAX_BYTES = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// URL
// ---------------------------------------------------------------------------------------------

/** Splits `/path?query` (or an absolute-form URL) into the raw path and the raw query string. */
export function splitUrl(url: string): { rawPath: string; rawQuery: string } {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* / */) {
    // absolute-form (`http://host/path`), sent by some proxies
    const scheme = url.indexOf('://');
    start = scheme < 0 ? 0 : url.indexOf('/', scheme + 3);
    if (start < 0) return { rawPath: '/', rawQuery: '' };
  }
  const q = url.indexOf('?', start);
  return q < 0
    ? { rawPath: url.slice(start), rawQuery: '' }
    : { rawPath: url.slice(start, q), rawQuery: url.slice(q + 1) };
}

export function parseQuery(rawQuery: string): Query {
  const list: Array<[string, string]> = [];
  const values: Record<string, string | undefined> = Object.create(null) as Record<string, string | undefined>;
  if (rawQuery === '') return { list, values };
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    list.push([name, value]);
    if (values[name] === undefined) values[name] = value;
  }
  return { list, values };
}

/**
 * The account, container and blob a path addresses; `host` is the Host header as sent.
 * Throws InvalidUri for undecodable paths.
 */
export function parseTarget(rawPath: string, host: string | undefined, accounts: AccountRegistry): Target {
  const hostAccount = accountFromHost(host, accounts);
  let rest = rawPath.charCodeAt(0) === 47 ? rawPath.slice(1) : rawPath;
  let account: string;
  if (hostAccount !== undefined) {
    account = hostAccount;
  } else {
    const slash = rest.indexOf('/');
    account = decode(slash < 0 ? rest : rest.slice(0, slash));
    rest = slash < 0 ? '' : rest.slice(slash + 1);
  }
  const slash = rest.indexOf('/');
  const container = decode(slash < 0 ? rest : rest.slice(0, slash));
  const blob = slash < 0 ? '' : decode(rest.slice(slash + 1));
  const level: Level = blob !== '' ? 'blob' : container !== '' ? 'container' : 'account';
  return { account, container, blob, level, hostStyle: hostAccount !== undefined };
}

/** `http(s)://host/account/` (path style) or `http(s)://host/` (host style): ServiceEndpoint in listings. */
export function serviceEndpointOf(ctx: RequestContext): string {
  const host = header(ctx.req, 'host') ?? '127.0.0.1';
  const scheme = isHttps(ctx.req) ? 'https' : 'http';
  return ctx.target.hostStyle ? `${scheme}://${host}/` : `${scheme}://${host}/${encodeURIComponent(ctx.target.account)}/`;
}

function accountFromHost(host: string | undefined, accounts: AccountRegistry): string | undefined {
  if (host === undefined || host === '' || host.charCodeAt(0) === 91 /* [ IPv6 */) return undefined;
  const colon = host.indexOf(':');
  const hostName = colon < 0 ? host : host.slice(0, colon);
  if (hostName === 'localhost' || hostName === 'host.docker.internal' || isIpv4(hostName)) return undefined;
  const dot = hostName.indexOf('.blob.');
  if (dot <= 0) return undefined;
  const account = hostName.slice(0, dot);
  return accounts.exists(account) ? account : undefined;
}

function isIpv4(hostName: string): boolean {
  for (let i = 0; i < hostName.length; i++) {
    const c = hostName.charCodeAt(i);
    if (c !== 46 && (c < 48 || c > 57)) return false;
  }
  return true;
}

function decode(text: string): string {
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return wireFail('InvalidUri');
  }
}

export function containerRef(ctx: RequestContext): ContainerRef {
  return { account: ctx.target.account, container: ctx.target.container };
}

export function blobRef(ctx: RequestContext): BlobRef {
  return { account: ctx.target.account, container: ctx.target.container, blob: ctx.target.blob };
}

// ---------------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------------

/** A request header as one string (Node joins repeated headers; only set-cookie is an array). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function requiredHeader(req: IncomingMessage, name: string): string {
  const value = header(req, name);
  return value === undefined || value === '' ? wireFail('MissingRequiredHeader', { HeaderName: name }) : value;
}

export function requiredQuery(ctx: RequestContext, name: string): string {
  const value = ctx.query.values[name];
  return value === undefined || value === '' ? wireFail('MissingRequiredQueryParameter', { QueryParameterName: name }) : value;
}

export function leaseIdOf(req: IncomingMessage): string | undefined {
  return header(req, 'x-ms-lease-id');
}

const NO_CONDITIONS: Conditions = Object.freeze({});

/** If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since (spec §3). */
export function parseConditions(req: IncomingMessage): Conditions {
  const h = req.headers;
  if (h['x-ms-if-tags'] !== undefined) notImplemented('the x-ms-if-tags condition');
  return readConditions(req, 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since');
}

/** The `x-ms-source-if-*` conditions of copy and *FromURL operations. */
export function parseSourceConditions(req: IncomingMessage): Conditions {
  if (req.headers['x-ms-source-if-tags'] !== undefined) notImplemented('the x-ms-source-if-tags condition');
  return readConditions(req, 'x-ms-source-if-match', 'x-ms-source-if-none-match', 'x-ms-source-if-modified-since', 'x-ms-source-if-unmodified-since');
}

function readConditions(req: IncomingMessage, match: string, noneMatch: string, modifiedSince: string, unmodifiedSince: string): Conditions {
  const ifMatch = header(req, match);
  const ifNoneMatch = header(req, noneMatch);
  const ifModifiedSince = header(req, modifiedSince);
  const ifUnmodifiedSince = header(req, unmodifiedSince);
  if (ifMatch === undefined && ifNoneMatch === undefined && ifModifiedSince === undefined && ifUnmodifiedSince === undefined) {
    return NO_CONDITIONS;
  }
  const conditions: Conditions = {};
  if (ifMatch !== undefined) conditions.ifMatch = ifMatch;
  if (ifNoneMatch !== undefined) conditions.ifNoneMatch = ifNoneMatch;
  if (ifModifiedSince !== undefined) conditions.ifModifiedSinceMs = headerDate(modifiedSince, ifModifiedSince);
  if (ifUnmodifiedSince !== undefined) conditions.ifUnmodifiedSinceMs = headerDate(unmodifiedSince, ifUnmodifiedSince);
  return conditions;
}

function headerDate(name: string, value: string): number {
  return parseHttpDate(value) ?? wireFail('InvalidHeaderValue', { HeaderName: name, HeaderValue: value });
}

const BYTE_RANGE = /^bytes=(\d+)-(\d*)$/;

/** `bytes=S-E` or `bytes=S-`; undefined when the text is not of that form. */
export function parseByteRange(text: string): ByteRange | undefined {
  const match = BYTE_RANGE.exec(text.trim());
  if (match === null) return undefined;
  const start = Number(match[1]);
  const end = match[2] === '' || match[2] === undefined ? undefined : Number(match[2]);
  return end === undefined ? { start } : { start, end };
}

/**
 * Get Blob's range: `x-ms-range` wins over `Range`. A malformed `x-ms-range` is a 400; a malformed or
 * multi-part `Range` is ignored (the whole blob is served), as HTTP allows and Azure does.
 */
export function parseRange(req: IncomingMessage): ByteRange | undefined {
  const msRange = header(req, 'x-ms-range');
  if (msRange !== undefined) {
    return parseByteRange(msRange) ?? wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-range', HeaderValue: msRange });
  }
  const range = header(req, 'range');
  return range === undefined ? undefined : parseByteRange(range);
}

/**
 * `x-ms-meta-<name>` headers, names in the case the client sent (rawHeaders keeps it; req.headers
 * lower-cases). Validation of names and sizes is the service's (names.ts).
 */
export function parseMetadata(req: IncomingMessage): Metadata {
  const metadata: Metadata = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (name.length < 10 || (name.charCodeAt(0) | 32) !== 120 /* x */) continue;
    if (name.slice(0, 10).toLowerCase() !== 'x-ms-meta-') continue;
    metadata[name.slice(10)] = raw[i + 1] ?? '';
  }
  return metadata;
}

/**
 * The blob's own HTTP headers from `x-ms-blob-content-*` / `x-ms-blob-cache-control`. With
 * `standardFallback` (Put Blob only) the standard Content-Type/-Encoding/-Language and Cache-Control
 * of the upload describe the blob when the x-ms-blob-* form is absent, as the Put Blob reference says.
 */
export function parseBlobHttpHeaders(req: IncomingMessage, standardFallback: boolean): BlobHttpHeaders {
  const headers: BlobHttpHeaders = {};
  const pick = (msName: string, standardName: string | undefined): string | undefined =>
    header(req, msName) ?? (standardFallback && standardName !== undefined ? header(req, standardName) : undefined);
  const contentType = pick('x-ms-blob-content-type', 'content-type');
  const contentEncoding = pick('x-ms-blob-content-encoding', 'content-encoding');
  const contentLanguage = pick('x-ms-blob-content-language', 'content-language');
  const contentDisposition = pick('x-ms-blob-content-disposition', undefined);
  const cacheControl = pick('x-ms-blob-cache-control', 'cache-control');
  const contentMd5 = pick('x-ms-blob-content-md5', undefined);
  if (contentType !== undefined) headers.contentType = contentType;
  if (contentEncoding !== undefined) headers.contentEncoding = contentEncoding;
  if (contentLanguage !== undefined) headers.contentLanguage = contentLanguage;
  if (contentDisposition !== undefined) headers.contentDisposition = contentDisposition;
  if (cacheControl !== undefined) headers.cacheControl = cacheControl;
  if (contentMd5 !== undefined) headers.contentMd5 = contentMd5;
  return headers;
}

export function hasBlobHttpHeaders(req: IncomingMessage): boolean {
  const h = req.headers;
  return h['x-ms-blob-content-type'] !== undefined || h['x-ms-blob-content-encoding'] !== undefined
    || h['x-ms-blob-content-language'] !== undefined || h['x-ms-blob-content-disposition'] !== undefined
    || h['x-ms-blob-cache-control'] !== undefined || h['x-ms-blob-content-md5'] !== undefined;
}

/** x-ms-access-tier on a write: an explicit tier for the new blob. */
export function accessTierOf(req: IncomingMessage): AccessTier | undefined {
  const text = header(req, 'x-ms-access-tier');
  return text === undefined ? undefined : parseTier(text);
}

/** Headers Nimbus does not act on yet: refusing them beats silently dropping what the client asked for. */
export function refuseUnsupportedHeaders(req: IncomingMessage): void {
  const h = req.headers;
  if (h['x-ms-tags'] !== undefined) notImplemented('blob index tags (x-ms-tags)');
  if (h['x-ms-encryption-key'] !== undefined) notImplemented('customer-provided keys (x-ms-encryption-key)');
  if (h['x-ms-encryption-scope'] !== undefined) notImplemented('encryption scopes (x-ms-encryption-scope)');
  if (h['x-ms-immutability-policy-until-date'] !== undefined || h['x-ms-legal-hold'] !== undefined) {
    notImplemented('immutability policies and legal holds');
  }
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

export function contentLengthOf(req: IncomingMessage): number | undefined {
  const text = header(req, 'content-length');
  if (text === undefined) return undefined;
  const length = Number(text);
  return Number.isSafeInteger(length) && length >= 0 && text.trim() !== ''
    ? length
    : wireFail('InvalidHeaderValue', { HeaderName: 'Content-Length', HeaderValue: text });
}

/** The request itself as the body stream: blob bodies are never buffered here. */
export function bodySource(req: IncomingMessage): BodySource {
  const lengthBytes = contentLengthOf(req);
  if (lengthBytes === undefined) wireFail('MissingContentLengthHeader');
  const md5 = header(req, 'content-md5');
  return md5 === undefined ? { stream: req, lengthBytes } : { stream: req, lengthBytes, md5 };
}

/**
 * A small body (XML) as text, at most `capBytes`. Past the cap the rest is drained rather than the
 * stream destroyed, so the client still receives the 413 on its connection.
 */
export async function readSmallBody(req: IncomingMessage, capBytes = XML_BODY_MAX_BYTES): Promise<string> {
  const declared = contentLengthOf(req);
  if (declared !== undefined && declared > capBytes) wireFail('RequestBodyTooLarge');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total <= capBytes) chunks.push(chunk);
  }
  if (total > capBytes) wireFail('RequestBodyTooLarge');
  return Buffer.concat(chunks, total).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Copy sources
// ---------------------------------------------------------------------------------------------

/**
 * `x-ms-copy-source` → the blob it names on this server. Any host is accepted as long as the path
 * parses (clients build source URLs from whatever endpoint they were given); a SAS on the URL is
 * not needed because the source is local. `x-ms-source-range` and `x-ms-source-if-*` come along.
 */
export function parseCopySource(req: IncomingMessage, accounts: AccountRegistry): CopySource {
  const url = requiredHeader(req, 'x-ms-copy-source');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-copy-source', HeaderValue: url });
  }
  const snapshot = parsed.searchParams.get('snapshot') ?? undefined;
  const versionId = parsed.searchParams.get('versionid') ?? undefined;
  const target = parseTarget(parsed.pathname, parsed.host, accounts);
  const ref = target.level === 'blob'
    ? { account: target.account, container: target.container, blob: target.blob }
    : target.level === 'container'
      ? { account: target.account, container: '$root', blob: target.container }
      : wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-copy-source', HeaderValue: url });
  const source: CopySource = { ref, url, conditions: parseSourceConditions(req), sourceQuery: [...parsed.searchParams.entries()] };
  if (snapshot !== undefined || versionId !== undefined) source.selector = { snapshot, versionId };
  const rangeText = header(req, 'x-ms-source-range');
  if (rangeText !== undefined) {
    const range = parseByteRange(rangeText);
    if (range === undefined || range.end === undefined || range.end < range.start) {
      wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-source-range', HeaderValue: rangeText });
    }
    source.range = { start: range.start, end: range.end };
  }
  return source;
}
