// Signing a service SAS with an account key: the producer side of sas.ts, for Nimbus's own SAS URLs
// (managed-disk grant access). Same string-to-sign table as verification (sas-string-to-sign.ts), so
// what this signs is exactly what the blob endpoint verifies. Layout of the query follows
// @azure/storage-blob's generateBlobSASQueryParameters (sv, st, se, sr, sp, si, sig).
// https://learn.microsoft.com/rest/api/storageservices/create-service-sas
import { computeSignature } from './shared-key.js';
import type { ServiceSas, SignedResource } from './sas-parse.js';
import { sasStringToSign } from './sas-string-to-sign.js';

export const SIGNING_VERSION = '2020-12-06';

export interface ServiceSasRequest {
  accountName: string;
  accountKey: string;
  container: string;
  blob: string;
  /** Signs sr=bs for this snapshot; otherwise sr=b. */
  snapshot?: string;
  /** A stored access policy of the container (`si`), which then supplies sp/se when omitted here. */
  identifier?: string;
  permissions?: string;
  /** ISO 8601 UTC, second precision (`2024-01-01T00:00:00Z`). */
  expiresOn?: string;
}

/** The SAS query string (no leading `?`), parameters URL-encoded. */
export function signServiceSas(request: ServiceSasRequest): string {
  const resource: SignedResource = request.snapshot === undefined ? 'b' : 'bs';
  const sas: ServiceSas = {
    kind: 'service', version: SIGNING_VERSION, resource, identifier: request.identifier,
    permissions: request.permissions, expiresOn: request.expiresOn, httpsOnly: false, signature: '', responseHeaders: {},
  };
  const target = { container: request.container, blob: request.blob, snapshot: request.snapshot };
  const stringToSign = sasStringToSign(sas, { accountName: request.accountName, target });
  if (stringToSign === undefined) throw new Error('signServiceSas: the target cannot hold a blob SAS');
  const query = new URLSearchParams();
  query.set('sv', SIGNING_VERSION);
  if (request.expiresOn !== undefined) query.set('se', request.expiresOn);
  query.set('sr', resource);
  if (request.permissions !== undefined) query.set('sp', request.permissions);
  if (request.identifier !== undefined) query.set('si', request.identifier);
  query.set('sig', computeSignature(stringToSign, request.accountKey));
  return query.toString();
}
