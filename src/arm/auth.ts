// Who may call a Resource Manager operation: a bearer token Nimbus issued for a management audience,
// or the static development token. Follows ARM's behaviour
// (https://learn.microsoft.com/azure/azure-resource-manager/management/authenticate-multi-tenant):
//
//   no Authorization header          401 AuthenticationFailed
//   not "Bearer <token>", bad JWT    401 InvalidAuthenticationToken
//   expired                          401 ExpiredAuthenticationToken
//   token for another audience       401 InvalidAuthenticationTokenAudience
//
// Every 401 carries `WWW-Authenticate: Bearer authorization_uri="<issuer>/<dev tenant>", error="invalid_token",
// error_description="…"` so challenge-based clients know where to get a token.
//
// Accepted audiences: Azure's management resource ids (what SDKs ask for by default) and this endpoint's
// own URL (what SDKs ask for when given a custom endpoint and no scope).
// There is no RBAC on the management plane yet: any valid caller may do anything.
import type { OutgoingHttpHeaders } from 'node:http';
import type { ArmContext } from './context.js';
import { armFail, type ArmErrorCode } from './errors.js';
import { DEV_PRINCIPAL } from './principals.js';

const MANAGEMENT_AUDIENCES = [
  'https://management.azure.com', 'https://management.azure.com/',
  'https://management.core.windows.net', 'https://management.core.windows.net/',
];

export function managementAudiences(baseUrl: string): ReadonlySet<string> {
  return new Set([...MANAGEMENT_AUDIENCES, baseUrl, `${baseUrl}/`]);
}

export function authenticate(ctx: ArmContext, out: OutgoingHttpHeaders): void {
  const authorization = ctx.req.headers.authorization;
  if (authorization === undefined) deny(ctx, out, 'AuthenticationFailed', "The authentication failed because of missing 'Authorization' header.");
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  const token = match?.[1];
  if (token === undefined) deny(ctx, out, 'InvalidAuthenticationToken', "The 'Authorization' header is not of the form 'Bearer <token>'.");
  const result = ctx.deps.tokens.verify(token, managementAudiences(ctx.baseUrl));
  if (result.ok) return;
  switch (result.reason) {
    case 'expired':
      deny(ctx, out, 'ExpiredAuthenticationToken', 'The access token has expired.');
    case 'audience':
      deny(ctx, out, 'InvalidAuthenticationTokenAudience', 'The access token has been obtained for wrong audience or resource.', { audience: result.audience ?? '' });
    default:
      deny(ctx, out, 'InvalidAuthenticationToken', `The access token is invalid (${result.reason}).`);
  }
}

function deny(ctx: ArmContext, out: OutgoingHttpHeaders, code: ArmErrorCode, description: string, details: Record<string, string> = {}): never {
  out['WWW-Authenticate'] = `Bearer authorization_uri="${ctx.baseUrl}/${DEV_PRINCIPAL.tenantId}", error="invalid_token", error_description="${description}"`;
  armFail(code, details);
}
