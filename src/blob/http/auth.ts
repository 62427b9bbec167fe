// Who may run this request: Shared Key / Shared Key Lite, or anonymous public read access.
// Follows spec/blob-rest.md §4 (Azurite's order: Shared Key header → SAS → bearer → anonymous).
//
//   Authorization: SharedKey[Lite] acct:sig   verify signature (any key, tolerated layouts) and the
//                                            15-minute x-ms-date/Date skew → else 403 AuthenticationFailed,
//                                            with the server's string-to-sign as AuthenticationErrorDetail
//   Authorization: Bearer …                  501 (not built yet; Azure also needs HTTPS for it)
//   ?sig=… (SAS)                             501 (not built yet)
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
import { formatRfc1123, parseHttpDate } from '../../azure-wire/format.js';
import { header, type RequestContext } from './request.js';

export type AnonymousAccess = 'blob' | 'container';

const CLOCK_SKEW_MAX_MS = 15 * 60_000;

export async function authorize(ctx: RequestContext, anonymous: AnonymousAccess | undefined): Promise<void> {
  const authorization = header(ctx.req, 'authorization');
  if (authorization !== undefined) return verifyKey(ctx, authorization);
  if (ctx.query.values.sig !== undefined) notImplemented('shared access signature (SAS) authorization');
  return authorizeAnonymous(ctx, anonymous);
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
