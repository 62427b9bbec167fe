// Who may run this request: Shared Key / Shared Key Lite, or anonymous public read access.
// Follows spec/blob-rest.md §4 (Azurite's order: Shared Key header → SAS → bearer → anonymous).
//
//   Authorization: SharedKey[Lite] acct:sig   verify signature (any key, tolerated layouts) and the
//                                            15-minute x-ms-date/Date skew → else 403 AuthenticationFailed,
//                                            with the server's string-to-sign as AuthenticationErrorDetail
//   Authorization: Bearer …                  501 (not built yet; Azure also needs HTTPS for it)
//   ?sig=… (SAS)                             azure-wire/sas.ts: signature with the account keys (or a stored
//                                            access policy of the container), times on the service clock,
//                                            IP, protocol, scope, and the permission the route declares
//                                            (routes.ts `sas`); failures → 403 with Azure's SAS codes
//   nothing                                  allowed only for the public reads a route declares:
//                                            'blob' reads on containers with public access blob|container,
//                                            'container' reads (list blobs, container properties) on
//                                            public access container. Otherwise: an anonymous read of a
//                                            private/missing container → 404 ResourceNotFound (Azure does
//                                            not reveal existence); any other anonymous call → 401
//                                            NoAuthenticationInformation.
//
// Malformed Authorization → 400 InvalidAuthenticationInfo. Unknown accounts never reach here: the
// server answers them 404 ResourceNotFound first (Azurite's behaviour).

import { parseAuthorizationHeader, verifySharedKey, type SignableRequest } from '../../azure-wire/shared-key.js';
import { notImplemented, wireFail } from '../../azure-wire/errors.js';
import { checkSas, type StoredAccessPolicy } from '../../azure-wire/sas.js';
import type { SasRule } from './routes.js';
import type { CopySource } from '../service/model.js';
import { formatRfc1123, parseHttpDate } from '../../azure-wire/format.js';
import { header, type RequestContext } from './request.js';

export type AnonymousAccess = 'blob' | 'container';

const CLOCK_SKEW_MAX_MS = 15 * 60_000;

export async function authorize(ctx: RequestContext, route: { anonymous?: AnonymousAccess; sas?: SasRule }): Promise<void> {
  const authorization = header(ctx.req, 'authorization');
  if (authorization !== undefined) {
    verifyKey(ctx, authorization);
    ctx.auth.credential = 'shared-key';
    return;
  }
  if (ctx.query.values.sig !== undefined) {
    await verifySas(ctx, route.sas);
    ctx.auth.credential = 'sas';
    return;
  }
  return authorizeAnonymous(ctx, route.anonymous);
}

/**
 * The source of a copy must be readable by the caller: its URL carries a SAS granting read, or it
 * is in the account the request was authorized for with Shared Key, or its container is public.
 * Otherwise 403 CannotVerifyCopySource (Azure's answer).
 */
export async function authorizeCopySource(ctx: RequestContext, source: CopySource): Promise<void> {
  const query = source.sourceQuery ?? [];
  if (query.some(([name]) => name === 'sig')) {
    const { ref } = source;
    const outcome = checkSas(
      {
        accountName: ref.account, query, nowMs: ctx.nowMs, clientIp: ctx.req.socket.remoteAddress ?? '', protocol: 'http',
        need: { resource: 'blob', permission: 'r', target: { container: ref.container, blob: ref.blob, snapshot: source.selector?.snapshot, versionId: source.selector?.versionId } },
      },
      { accountKeys: ctx.deps.accounts.keysFor(ref.account) ?? [] },
    );
    if (outcome.ok) return;
    wireFail('CopySourceAccessDenied', { reason: outcome.reason });
  }
  if (ctx.auth.credential === 'shared-key' && source.ref.account === ctx.target.account) return;
  if ((await ctx.deps.api.publicAccessOf(source.ref)) !== null) return;
  wireFail('CopySourceAccessDenied', { reason: 'the copy source is not readable with the credentials given' });
}

async function verifySas(ctx: RequestContext, rule: SasRule | undefined): Promise<void> {
  if (rule === undefined) wireFail('AuthorizationPermissionMismatch', { reason: 'this operation cannot be authorized with a SAS' });
  const { target } = ctx;
  const permission = typeof rule.permission === 'function' ? rule.permission(ctx) : rule.permission;
  const sasTarget = {
    container: target.level === 'account' ? undefined : target.container,
    blob: target.level === 'blob' ? target.blob : undefined,
    snapshot: ctx.query.values.snapshot,
    versionId: ctx.query.values.versionid,
  };
  const policies = await storedPolicies(ctx);
  const outcome = checkSas(
    {
      accountName: target.account, query: ctx.query.list, headers: ctx.req.headers as Readonly<Record<string, string | undefined>>,
      nowMs: ctx.nowMs, clientIp: ctx.req.socket.remoteAddress ?? '', protocol: 'http',
      need: { resource: rule.resource, permission, target: sasTarget },
    },
    { accountKeys: ctx.deps.accounts.keysFor(target.account) ?? [], storedPolicy: (_container, id) => policies.get(id) },
  );
  if (outcome.ok) return;
  wireFail(outcome.code, { AuthenticationErrorDetail: outcome.reason });
}

/** The container's stored access policies, read only when the SAS names one (`si`). */
async function storedPolicies(ctx: RequestContext): Promise<Map<string, StoredAccessPolicy>> {
  const policies = new Map<string, StoredAccessPolicy>();
  if (ctx.query.values.si === undefined || ctx.target.level === 'account') return policies;
  const ref = { account: ctx.target.account, container: ctx.target.container };
  const identifiers = await ctx.deps.api.getContainerAcl(ref, {}, ctx.nowMs).then((r) => r.identifiers, () => []);
  for (const identifier of identifiers) {
    policies.set(identifier.id, {
      start: identifier.startMs === undefined ? undefined : new Date(identifier.startMs).toISOString(),
      expiry: identifier.expiryMs === undefined ? undefined : new Date(identifier.expiryMs).toISOString(),
      permissions: identifier.permissions,
    });
  }
  return policies;
}

function verifyKey(ctx: RequestContext, authorization: string): void {
  const parsed = parseAuthorizationHeader(authorization);
  if (parsed === undefined) wireFail('InvalidAuthenticationInfo');
  if (parsed.scheme === 'Bearer') notImplemented('bearer token (Microsoft Entra ID) authorization');
  checkRequestDate(ctx);
  const signable: SignableRequest = {
    method: ctx.method,
    rawPath: ctx.rawPath,
    query: ctx.query.list,
    // Only set-cookie is an array in IncomingHttpHeaders, and requests do not carry it.
    headers: ctx.req.headers as Readonly<Record<string, string | undefined>>,
  };
  const accounts = ctx.deps.accounts;
  const result = verifySharedKey(signable, authorization, (name) => accounts.keysFor(name), ctx.target.account);
  if (result.ok) return;
  if (result.reason === 'unknown-account') wireFail('ResourceNotFound');
  if (result.reason === 'malformed') wireFail('InvalidAuthenticationInfo');
  wireFail('AuthenticationFailed', {
    AuthenticationErrorDetail: `The MAC signature found in the HTTP request '${parsed.signature ?? ''}' is not the same as any computed signature. Server used following string to sign: '${result.stringToSign ?? ''}'.`,
  });
}

/** x-ms-date (or Date) must be present and within 15 minutes of the server's real clock. */
function checkRequestDate(ctx: RequestContext): void {
  const text = header(ctx.req, 'x-ms-date') ?? header(ctx.req, 'date');
  if (text === undefined) {
    wireFail('AuthenticationFailed', { AuthenticationErrorDetail: 'Request must contain either x-ms-date or Date header.' });
  }
  const dateMs = parseHttpDate(text);
  if (dateMs === undefined) {
    wireFail('AuthenticationFailed', { AuthenticationErrorDetail: `The Date header in the request is incorrect: '${text}'.` });
  }
  const serverMs = ctx.deps.wallClock.nowMs();
  if (Math.abs(serverMs - dateMs) > CLOCK_SKEW_MAX_MS) {
    wireFail('AuthenticationFailed', {
      AuthenticationErrorDetail: `Request date header too old or too far in the future: '${text}'. Server time is ${formatRfc1123(serverMs)}.`,
    });
  }
}

async function authorizeAnonymous(ctx: RequestContext, anonymous: AnonymousAccess | undefined): Promise<void> {
  if (anonymous === undefined || ctx.target.level === 'account') wireFail('NoAuthenticationInformation');
  const access = await ctx.deps.api.publicAccessOf({ account: ctx.target.account, container: ctx.target.container });
  if (access === 'container' || (access === 'blob' && anonymous === 'blob')) return;
  wireFail('ResourceNotFound');
}
