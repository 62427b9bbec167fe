// Get User Delegation Key (POST /{account}/?restype=service&comp=userdelegationkey), spec/blob-rest.md
// §4.2 and https://learn.microsoft.com/rest/api/storageservices/get-user-delegation-key.
//
//   request   <KeyInfo><Start>ISO 8601</Start><Expiry>ISO 8601</Expiry></KeyInfo>   (Start optional)
//   response  <UserDelegationKey><SignedOid/><SignedTid/><SignedStart/><SignedExpiry/>
//             <SignedService>b</SignedService><SignedVersion/><Value/></UserDelegationKey>
//
// Only a bearer token reaches here (routes.ts `bearerOnly`); the key is issued to the token's principal
// (oid, tid) and its value derived, not stored (authz/user-delegation-keys.ts). SignedVersion is the
// request's service version.
import { wireFail } from '../../../azure-wire/errors.js';
import { parseIso } from '../../../azure-wire/format.js';
import { childText, el, parseXml, XML_DECLARATION } from '../../../azure-wire/xml.js';
import { UserDelegationKeys } from '../../../authz/user-delegation-keys.js';
import { readSmallBody, type Reply, type RequestContext } from '../request.js';
import { xmlReply } from './common.js';

export async function getUserDelegationKey(ctx: RequestContext): Promise<Reply> {
  const identity = ctx.deps.identity;
  const principal = ctx.auth.principal;
  if (identity === undefined || principal === undefined) wireFail('AuthenticationFailed', { AuthenticationErrorDetail: 'Only a bearer token can request a user delegation key.' });
  const request = parseKeyInfo(await readSmallBody(ctx.req));
  const check = UserDelegationKeys.checkRequest(request, ctx.nowMs);
  if (!check.ok) wireFail('InvalidXmlNodeValue', { XmlNodeName: check.node, reason: check.reason });
  const version = String(ctx.out['x-ms-version']);
  const key = identity.userDelegationKeys.issue({
    objectId: principal.objectId, tenantId: principal.tenantId, startMs: check.startMs, expiryMs: check.expiryMs, version,
  });
  return xmlReply(ctx, `${XML_DECLARATION}<UserDelegationKey>`
    + el('SignedOid', key.signedObjectId) + el('SignedTid', key.signedTenantId)
    + el('SignedStart', key.signedStart) + el('SignedExpiry', key.signedExpiry)
    + el('SignedService', key.signedService) + el('SignedVersion', key.signedVersion)
    + el('Value', key.value) + '</UserDelegationKey>');
}

function parseKeyInfo(text: string): { startMs: number | undefined; expiryMs: number } {
  const root = parseXml(text);
  if (root === undefined || root.name !== 'KeyInfo') wireFail('InvalidXmlDocument');
  const start = childText(root, 'Start');
  const expiry = childText(root, 'Expiry');
  if (expiry === undefined || expiry === '') wireFail('MissingRequiredXmlNode', { XmlNodeName: 'Expiry' });
  const expiryMs = parseIso(expiry);
  if (expiryMs === undefined) wireFail('InvalidXmlNodeValue', { XmlNodeName: 'Expiry' });
  if (start === undefined || start === '') return { startMs: undefined, expiryMs };
  const startMs = parseIso(start);
  if (startMs === undefined) wireFail('InvalidXmlNodeValue', { XmlNodeName: 'Start' });
  return { startMs, expiryMs };
}
