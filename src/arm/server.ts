// The ARM adapter's entry point: one `(req, res)` function for the management endpoint's https.Server.
//
// Per request, in this order (each step can end the request with an ARM error):
//
//   route (404 / 405) → [arm routes] bearer token (401 + WWW-Authenticate) → api-version (400)
//     → handler (parse JSON → service → render) → write reply
//
// Authentication comes before api-version, as in Azure: an anonymous caller learns nothing about the API.
// Every response carries x-ms-request-id and x-ms-correlation-request-id (the client's when sent), echoes
// x-ms-client-request-id, and JSON bodies are `application/json; charset=utf-8`. Errors are rendered only
// from ARM_ERRORS (errors.ts); anything that is not a ServiceError is a bug: 500, logged with the
// request id, and never crashes the process.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ServiceError } from '../platform/errors.js';
import { newGuid } from '../platform/ids.js';
import { authenticate } from './auth.js';
import type { ArmContext, ArmDeps, Reply } from './context.js';
import { armFail, renderArmError } from './errors.js';
import { ROUTES, RouteTable, type RouteDef } from './routes.js';

const API_VERSION = /^(\d{4}-\d{2}-\d{2})(-preview)?$/;
const OLDEST_API_VERSION = '2016-01-01';

export function createArmHandler(deps: ArmDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const table = new RouteTable(ROUTES);
  return (req, res) => {
    handle(deps, table, req, res).catch((error: unknown) => {
      deps.logger.log('error', 'arm-request-crash', { url: req.url, error: describe(error) });
      res.destroy();
    });
  };
}

async function handle(deps: ArmDeps, table: RouteTable, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const nowMs = deps.clock.nowMs();
  const requestId = newGuid();
  const method = req.method ?? 'GET';
  // `//subscriptions/…` (SDKs join `/{scope}` with a scope that starts with `/`) must stay a path, not
  // become a protocol-relative URL whose host is "subscriptions".
  const url = new URL((req.url ?? '/').replace(/^\/{2,}/, '/'), `https://${req.headers.host ?? '127.0.0.1'}`);
  const out: OutgoingHttpHeaders = {
    'x-ms-request-id': requestId,
    'x-ms-correlation-request-id': headerOf(req, 'x-ms-correlation-request-id') ?? requestId,
  };
  const clientRequestId = headerOf(req, 'x-ms-client-request-id');
  if (clientRequestId !== undefined) out['x-ms-client-request-id'] = clientRequestId;
  let status = 500;
  try {
    const route = routeOf(table, method, url.pathname);
    const ctx: ArmContext = {
      deps, req, method, path: url.pathname, query: url.searchParams, params: route.params, nowMs, baseUrl: url.origin,
    };
    if (route.route.kind === 'arm') {
      authenticate(ctx, out);
      checkApiVersion(url.searchParams.get('api-version'));
    }
    const reply = await route.route.handler(ctx);
    status = reply.status;
    send(res, reply, out);
  } catch (error) {
    status = sendError(deps, req, res, error, out, requestId);
  }
  if (deps.logger.enabled('debug')) {
    deps.logger.log('debug', 'arm-request', { method, url: req.url, status, ms: deps.clock.nowMs() - nowMs, requestId });
  }
}

function routeOf(table: RouteTable, method: string, path: string): { route: RouteDef; params: Record<string, string> } {
  const match = table.match(method, path);
  if (match.kind === 'route') return match;
  if (match.kind === 'method-not-allowed') armFail('HttpMethodNotAllowed', { method });
  const providers = /\/providers\/([^/]+\/[^/]+)/i.exec(path);
  return providers?.[1] !== undefined ? armFail('InvalidResourceType', { type: providers[1] }) : armFail('NotFound', { path });
}

function checkApiVersion(apiVersion: string | null): void {
  if (apiVersion === null || apiVersion === '') armFail('MissingApiVersionParameter');
  const match = API_VERSION.exec(apiVersion);
  if (!match?.[1] || match[1] < OLDEST_API_VERSION || Number.isNaN(Date.parse(match[1]))) {
    armFail('InvalidApiVersionParameter', { apiVersion });
  }
}

function send(res: ServerResponse, reply: Reply, out: OutgoingHttpHeaders): void {
  Object.assign(out, reply.headers);
  if (reply.body === undefined) {
    out['Content-Length'] = 0;
    res.writeHead(reply.status, out);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  out['Content-Type'] = 'application/json; charset=utf-8';
  out['Content-Length'] = Buffer.byteLength(text);
  res.writeHead(reply.status, out);
  res.end(text);
}

function sendError(deps: ArmDeps, req: IncomingMessage, res: ServerResponse, error: unknown, out: OutgoingHttpHeaders, requestId: string): number {
  const isService = error instanceof ServiceError;
  const rendered = renderArmError(isService ? error.code : 'InternalServerError', isService ? error.details : {});
  if (rendered.status >= 500) {
    deps.logger.log('error', 'arm-request-failed', { requestId, method: req.method, url: req.url, error: describe(error) });
  }
  if (res.headersSent) {
    res.destroy();
    return rendered.status;
  }
  // A body the client is still sending is drained so the connection can be reused.
  req.resume();
  const headers: OutgoingHttpHeaders = {
    'x-ms-request-id': out['x-ms-request-id'],
    'x-ms-correlation-request-id': out['x-ms-correlation-request-id'],
  };
  if (out['x-ms-client-request-id'] !== undefined) headers['x-ms-client-request-id'] = out['x-ms-client-request-id'];
  if (out['WWW-Authenticate'] !== undefined) headers['WWW-Authenticate'] = out['WWW-Authenticate'];
  send(res, { status: rendered.status, body: rendered.body }, headers);
  return rendered.status;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}
