// The Azure Blob REST adapter's entry point: one `(req, res)` function for an http.Server.
//
// Per request, in this order (each step can end the request with an Azure error):
//
//   split URL → x-ms-version well-formed? → account known? → route (405 / 400 / 501)
//     → authorize (auth.ts) → handler (parse → BlobApi → render) → write reply
//
// Every response, error or not, carries x-ms-request-id (fresh GUID), x-ms-version (the request's
// when well-formed, else the newest Nimbus speaks), Date, Server and the echoed x-ms-client-request-id.
// Errors are rendered only from AZURE_ERRORS (azure-wire/errors.ts); anything that is not a
// ServiceError (a bug, a failed assert) becomes 500 InternalError, logged with the request id, and
// never escapes to crash the process.
//
// The `timeout` query parameter (seconds) is accepted on every operation and ignored: every Nimbus
// operation finishes or fails on its own, and it is still signed like any other parameter.
//
// Hot path notes (this adapter must beat Azurite by 10× on small PUT/GET): the route table is compiled
// once per handler, URL and query are split by hand, the Date header is cached per second, headers are
// written with one writeHead, XML is parsed only by the operations that have XML bodies, and blob bodies
// stream through (request → service; service → response by the stream's own writeTo when it has one, which
// reuses a few buffers, else stream.pipeline; both with backpressure).

import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { ServiceError } from '../../platform/errors.js';
import { newGuid } from '../../platform/ids.js';
import { notImplemented, renderAzureError, wireFail } from '../../azure-wire/errors.js';
import { createHttpDateCache, formatIso7 } from '../../azure-wire/format.js';
import { authorize } from './auth.js';
import {
  header, parseQuery, parseTarget, splitUrl, type BlobHandlerDeps, type Reply, type RequestContext, type Target,
} from './request.js';
import { METHODS, ROUTES, compileRoutes, matchRoute, type Route, type RouteTable } from './routes.js';

export type { BlobHandlerDeps } from './request.js';

/** The newest x-ms-version Nimbus behaves as (what @azure/storage-blob 12.32 sends). */
export const NEWEST_VERSION = '2026-04-06';
const OLDEST_VERSION = '2009-09-19';
const VERSION_FORMAT = /^\d{4}-\d{2}-\d{2}$/;
const SERVER = 'Nimbus-Blob/0.1';
const KNOWN_METHODS: ReadonlySet<string> = new Set(METHODS);

interface Shared {
  deps: BlobHandlerDeps;
  table: RouteTable;
  httpDate: (nowMs: number) => string;
}

export function createBlobHandler(deps: BlobHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const shared: Shared = { deps, table: compileRoutes(ROUTES), httpDate: createHttpDateCache() };
  return (req, res) => {
    handle(shared, req, res).catch((error: unknown) => {
      // handle() catches everything itself; reaching here means writing the error failed too.
      deps.logger.log('error', 'request-crash', { url: req.url, error: describe(error) });
      res.destroy();
    });
  };
}

/** What every response carries; rebuilt for errors so a failed handler's half-set headers never leak. */
function commonHeaders(shared: Shared, requestId: string, version: string, nowMs: number, clientRequestId: string | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    'x-ms-request-id': requestId,
    'x-ms-version': version,
    Date: shared.httpDate(nowMs),
    Server: SERVER,
  };
  if (clientRequestId !== undefined) out['x-ms-client-request-id'] = clientRequestId;
  return out;
}

async function handle(shared: Shared, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { deps } = shared;
  const nowMs = deps.clock.nowMs();
  const requestId = newGuid();
  const method = req.method ?? 'GET';
  const clientRequestId = header(req, 'x-ms-client-request-id');
  const requestedVersion = header(req, 'x-ms-version');
  const versionOk = requestedVersion === undefined
    || (VERSION_FORMAT.test(requestedVersion) && requestedVersion >= OLDEST_VERSION);
  const version = versionOk && requestedVersion !== undefined ? requestedVersion : NEWEST_VERSION;
  const out = commonHeaders(shared, requestId, version, nowMs, clientRequestId);
  let status = 500;
  let operation = '';
  try {
    if (!versionOk) wireFail('InvalidHeaderValue', { HeaderName: 'x-ms-version', HeaderValue: requestedVersion ?? '' });
    const ctx = buildContext(shared, req, method, nowMs, requestId, out);
    const route = routeOf(shared, ctx);
    operation = route.operation;
    await authorize(ctx, route);
    if (route.handler === undefined) notImplemented(route.operation);
    const reply = await route.handler(ctx);
    status = reply.status;
    await send(req, res, method, reply, out);
  } catch (error) {
    status = sendError(shared, req, res, method, error, { requestId, version, nowMs, clientRequestId, operation });
  }
  if (deps.logger.enabled('debug')) {
    deps.logger.log('debug', 'request', { method, url: req.url, status, ms: deps.clock.nowMs() - nowMs, requestId, operation });
  }
}

function buildContext(shared: Shared, req: IncomingMessage, method: string, nowMs: number, requestId: string, out: OutgoingHttpHeaders): RequestContext {
  const { rawPath, rawQuery } = splitUrl(req.url ?? '/');
  const query = parseQuery(rawQuery);
  const parsed = parseTarget(rawPath, header(req, 'host'), shared.deps.accounts);
  if (parsed.account === '') wireFail('InvalidUri');
  if (!shared.deps.accounts.exists(parsed.account)) wireFail('ResourceNotFound');
  const target = rootContainerFallback(parsed, query.values.restype);
  return { deps: shared.deps, req, method, rawPath, query, target, nowMs, requestId, out, auth: { credential: 'anonymous' } };
}

/**
 * `/{account}/{name}` without `restype` addresses blob `name` in the `$root` container (Azure's root
 * container: blobs addressable without a container segment).
 */
function rootContainerFallback(target: Target, restype: string | undefined): Target {
  if (target.level !== 'container' || restype !== undefined) return target;
  return { ...target, container: '$root', blob: target.container, level: 'blob' };
}

function routeOf(shared: Shared, ctx: RequestContext): Route {
  const { method } = ctx;
  if (method === 'OPTIONS') notImplemented('CORS preflight (OPTIONS)');
  if (!KNOWN_METHODS.has(method)) wireFail('UnsupportedHttpVerb');
  const match = matchRoute(shared.table, ctx.target.level, method, ctx.query, ctx.req);
  if (match.kind === 'route') {
    const { snapshot, versionid } = ctx.query.values;
    // Snapshots and versions are immutable: only reads, deletes, tier and tags may address them.
    if ((snapshot !== undefined || versionid !== undefined) && match.route.selectable !== true) {
      wireFail('InvalidOperation', { reason: 'snapshots and versions are read-only' });
    }
    return match.route;
  }
  if (match.kind === 'verb-not-allowed') wireFail('UnsupportedHttpVerb');
  const { comp, restype } = ctx.query.values;
  return comp !== undefined
    ? wireFail('InvalidQueryParameterValue', { QueryParameterName: 'comp', QueryParameterValue: comp })
    : restype !== undefined
      ? wireFail('InvalidQueryParameterValue', { QueryParameterName: 'restype', QueryParameterValue: restype })
      : wireFail('InvalidUri');
}

async function send(req: IncomingMessage, res: ServerResponse, method: string, reply: Reply, out: OutgoingHttpHeaders): Promise<void> {
  if (reply.stream !== undefined) {
    res.writeHead(reply.status, out);
    const stream = reply.stream;
    await (stream.writeTo ? stream.writeTo(res) : pipe(stream, res));
    return;
  }
  const body = reply.body;
  if (body !== undefined) out['Content-Length'] = Buffer.byteLength(body);
  else if (out['Content-Length'] === undefined && reply.status !== 204 && reply.status !== 304) out['Content-Length'] = 0;
  res.writeHead(reply.status, out);
  res.end(method === 'HEAD' ? undefined : body);
}

/**
 * stream.pipeline (backpressure, destroys both ends on failure) in its callback form: the promise form
 * allocates an AbortSignal per call, measurable on small GETs.
 */
function pipe(source: NodeJS.ReadableStream, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    pipeline(source, res, (error) => (error ? reject(error) : resolve()));
  });
}

interface ErrorContext {
  requestId: string;
  version: string;
  nowMs: number;
  clientRequestId: string | undefined;
  operation: string;
}

/** Renders the error if the response has not started; otherwise cuts the connection. Returns the status. */
function sendError(shared: Shared, req: IncomingMessage, res: ServerResponse, method: string, error: unknown, context: ErrorContext): number {
  const { logger } = shared.deps;
  if (res.headersSent) {
    // The body was streaming: the client sees a truncated response, which is the only honest signal left.
    if (!isClientGone(error)) logger.log('error', 'response-stream-failed', { requestId: context.requestId, url: req.url, error: describe(error) });
    res.destroy();
    return res.statusCode;
  }
  const isService = error instanceof ServiceError;
  const code = isService ? error.code : 'InternalError';
  const details = isService ? error.details : {};
  const rendered = renderAzureError(code, details, { requestId: context.requestId, timeIso: formatIso7(context.nowMs), withBody: method !== 'HEAD' });
  if (rendered.status >= 500 && rendered.status !== 501 && !isClientGone(error)) {
    logger.log('error', 'request-failed', {
      requestId: context.requestId, method, url: req.url, operation: context.operation, code, error: describe(error),
    });
  }
  const out = commonHeaders(shared, context.requestId, context.version, context.nowMs, context.clientRequestId);
  out['x-ms-error-code'] = rendered.code;
  // 401s name where to get a token (auth.ts puts the challenge in the error's details).
  if (details.wwwAuthenticate !== undefined) out['WWW-Authenticate'] = details.wwwAuthenticate;
  const size = details.size;
  if (rendered.status === 416 && size !== undefined) out['Content-Range'] = `bytes */${size}`;
  if (rendered.body !== undefined) {
    out['Content-Type'] = 'application/xml';
    out['Content-Length'] = Buffer.byteLength(rendered.body);
  } else if (rendered.status !== 304 && method !== 'HEAD') {
    out['Content-Length'] = 0;
  }
  try {
    res.writeHead(rendered.status, out);
    res.end(rendered.body);
  } catch (writeError) {
    logger.log('error', 'error-response-failed', { requestId: context.requestId, error: describe(writeError) });
    res.destroy();
  }
  return rendered.status;
}

function isClientGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
