// The token issuer's HTTP side, on the management port, shaped like Microsoft Entra ID's so that
// `@azure/identity` (MSAL) works with `authorityHost: https://127.0.0.1:<armPort>`:
//
//   GET  /{tenant}/v2.0/.well-known/openid-configuration   MSAL reads token_endpoint from here
//   GET  /{tenant}/.well-known/openid-configuration        (v1 form)
//   GET  /{tenant}/discovery/v2.0/keys                     JWKS: the public key that verifies tokens
//   GET  /common/discovery/instance                        instance discovery, for clients that ask this
//                                                          host (MSAL asks login.microsoftonline.com
//                                                          unless `disableInstanceDiscovery: true`)
//   POST /{tenant}/oauth2/v2.0/token                       client credentials grant (`scope=<res>/.default`)
//   POST /{tenant}/oauth2/token                            v1 form (`resource=<res>`)
//
// Errors use OAuth2's shape ({ error, error_description, error_codes, … }) with Entra ID's AADSTS
// numbers, because MSAL parses those, not ARM errors. Client authentication: client_id/client_secret in
// the form, or HTTP Basic. Certificates (client_assertion) are not supported yet: 401 invalid_client.
import type { ArmContext, JsonValue, Reply } from './context.js';
import { json, param, readBodyText } from './context.js';
import type { RouteDef } from './routes.js';

const DEFAULT_SUFFIX = '/.default';

type OAuthError = 'invalid_request' | 'invalid_client' | 'unauthorized_client' | 'unsupported_grant_type' | 'invalid_scope';

export const OAUTH_ROUTES = [
  { method: 'GET', path: '/{tenant}/v2.0/.well-known/openid-configuration', kind: 'identity', handler: openIdConfiguration },
  { method: 'GET', path: '/{tenant}/.well-known/openid-configuration', kind: 'identity', handler: openIdConfiguration },
  { method: 'GET', path: '/{tenant}/discovery/v2.0/keys', kind: 'identity', handler: keys },
  { method: 'GET', path: '/{tenant}/discovery/keys', kind: 'identity', handler: keys },
  { method: 'GET', path: '/common/discovery/instance', kind: 'identity', handler: instanceDiscovery },
  { method: 'POST', path: '/{tenant}/oauth2/v2.0/token', kind: 'identity', handler: (ctx) => token(ctx, 'v2') },
  { method: 'POST', path: '/{tenant}/oauth2/token', kind: 'identity', handler: (ctx) => token(ctx, 'v1') },
] as const satisfies readonly RouteDef[];

async function openIdConfiguration(ctx: ArmContext): Promise<Reply> {
  const tenant = param(ctx, 'tenant');
  const base = `${ctx.baseUrl}/${tenant}`;
  return json(200, {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'appid', 'azp', 'ver'],
    tenant_region_scope: null,
    cloud_instance_name: new URL(ctx.baseUrl).host,
    cloud_graph_host_name: new URL(ctx.baseUrl).host,
    msgraph_host: new URL(ctx.baseUrl).host,
  });
}

async function keys(ctx: ArmContext): Promise<Reply> {
  return json(200, ctx.deps.tokens.jwks() as unknown as JsonValue);
}

async function instanceDiscovery(ctx: ArmContext): Promise<Reply> {
  const host = new URL(ctx.baseUrl).host;
  return json(200, {
    tenant_discovery_endpoint: `${ctx.baseUrl}/common/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  });
}

async function token(ctx: ArmContext, version: 'v1' | 'v2'): Promise<Reply> {
  const tenantId = param(ctx, 'tenant');
  const form = new URLSearchParams(await readBodyText(ctx.req));
  const grantType = form.get('grant_type');
  if (grantType !== 'client_credentials') {
    return oauthError(ctx, 'unsupported_grant_type', 70003, `AADSTS70003: The app requested an unsupported grant type '${grantType ?? ''}'. Nimbus issues tokens for the client credentials grant only.`);
  }
  const client = clientCredentials(ctx, form);
  if (client.clientId === undefined) return oauthError(ctx, 'invalid_request', 900144, "AADSTS900144: The request body must contain the following parameter: 'client_id'.");
  if (client.clientSecret === undefined) {
    return oauthError(ctx, 'invalid_client', 7000218, "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  const audience = version === 'v2' ? audienceOfScope(form.get('scope')) : form.get('resource') ?? undefined;
  if (audience === undefined) {
    return oauthError(ctx, 'invalid_scope', 1002012, `AADSTS1002012: The provided value for scope ${form.get('scope') ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
  }
  const result = ctx.deps.tokens.issue({ tenantId, clientId: client.clientId, clientSecret: client.clientSecret, audience, issuerBase: ctx.baseUrl });
  if (!result.ok) return oauthError(ctx, result.error, result.error === 'invalid_client' ? 7000215 : 700016, result.description);
  const body: Record<string, JsonValue> = {
    token_type: 'Bearer', expires_in: result.expiresInSec, ext_expires_in: result.expiresInSec, access_token: result.accessToken,
  };
  if (version === 'v1') {
    body.expires_on = String(Math.floor(ctx.nowMs / 1000) + result.expiresInSec);
    body.resource = audience;
  }
  return json(200, body, { 'Cache-Control': 'no-store', Pragma: 'no-cache' });
}

function clientCredentials(ctx: ArmContext, form: URLSearchParams): { clientId: string | undefined; clientSecret: string | undefined } {
  const basic = /^Basic\s+(\S+)$/i.exec(ctx.req.headers.authorization ?? '');
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { clientId: decodeURIComponent(decoded.slice(0, colon)), clientSecret: decodeURIComponent(decoded.slice(colon + 1)) };
  }
  return { clientId: form.get('client_id') ?? undefined, clientSecret: form.get('client_secret') ?? undefined };
}

/** `https://management.azure.com/.default` → `https://management.azure.com`; other scopes (openid…) are ignored. */
function audienceOfScope(scope: string | null): string | undefined {
  const resource = (scope ?? '').split(/\s+/).find((s) => s.endsWith(DEFAULT_SUFFIX));
  return resource === undefined ? undefined : resource.slice(0, -DEFAULT_SUFFIX.length);
}

function oauthError(ctx: ArmContext, error: OAuthError, code: number, description: string): Reply {
  const status = error === 'invalid_client' ? 401 : 400;
  const traceId = String(ctx.req.headers['client-request-id'] ?? '');
  return json(status, {
    error, error_description: description, error_codes: [code],
    timestamp: new Date(ctx.nowMs).toISOString(),
    trace_id: traceId, correlation_id: traceId,
  });
}
