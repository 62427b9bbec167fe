// Bearer-token clients for the blob endpoint's HTTPS listener, role assignments through
// @azure/arm-authorization, and raw HTTPS requests for what the SDKs never send (forged tokens, http).
// The recipe the README's "Bearer tokens and RBAC" section documents:
//
//   - a ClientSecretCredential against Nimbus's issuer (authorityHost = ARM URL, no instance discovery)
//   - BlobServiceClient on the HTTPS blob URL with that credential; the SDK asks for
//     https://storage.azure.com/.default, an audience the blob endpoint accepts
//   - TLS: `tlsOptions: { ca }` in every option bag (the storage SDK passes unknown pipeline options on to
//     core-rest-pipeline, which honours tlsOptions), or NODE_EXTRA_CA_CERTS for a whole process.
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { ClientSecretCredential } from '@azure/identity';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { DEV_PRINCIPAL } from '../../src/arm/principals.js';
import type { ServicePrincipal } from '../../src/arm/tokens.js';
import { DEFAULT_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP } from '../../src/accounts/model.js';
import { DEV_ACCOUNT } from '../../src/blob/service/accounts.js';
import { startTestServer, type TestServer } from './server.js';
import { MANAGEMENT_SCOPE } from './arm.js';

export const STORAGE_SCOPE = 'https://storage.azure.com/.default';

/** Service principals the tests declare in config, all in the development tenant. */
export const PRINCIPALS = {
  reader: principal('11111111-0000-4000-8000-000000000001', 'reader-secret'),
  contributor: principal('11111111-0000-4000-8000-000000000002', 'contributor-secret'),
  owner: principal('11111111-0000-4000-8000-000000000003', 'owner-secret'),
  nobody: principal('11111111-0000-4000-8000-000000000004', 'nobody-secret'),
} as const;

export const ROLE = {
  reader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  contributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  owner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
} as const;

export const ACCOUNT_SCOPE = `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${DEFAULT_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/${DEV_ACCOUNT}`;
export const containerScope = (container: string): string => `${ACCOUNT_SCOPE}/blobServices/default/containers/${container}`;

function principal(clientId: string, clientSecret: string): ServicePrincipal {
  return { tenantId: DEV_PRINCIPAL.tenantId, clientId, clientSecret };
}

export interface BearerServer extends TestServer {
  httpsUrl: string;
  credentialFor(p: ServicePrincipal): ClientSecretCredential;
  blobClientFor(p: ServicePrincipal): BlobServiceClient;
  authorization: AuthorizationManagementClient;
  assign(scope: string, role: string, p: ServicePrincipal): Promise<string>;
}

export async function startBearerServer(dataDir?: string): Promise<BearerServer> {
  const srv = await startTestServer({ servicePrincipals: Object.values(PRINCIPALS), ...(dataDir === undefined ? {} : { dataDir }) });
  const tlsOptions = { ca: srv.armCaPem };
  const credentialFor = (p: ServicePrincipal) => new ClientSecretCredential(p.tenantId, p.clientId, p.clientSecret, {
    authorityHost: srv.armUrl, disableInstanceDiscovery: true, tlsOptions, retryOptions: { maxRetries: 0 },
  });
  const blobClientFor = (p: ServicePrincipal) => {
    const options: StoragePipelineOptions & { tlsOptions: { ca: string } } = { retryOptions: { maxTries: 1 }, tlsOptions };
    return new BlobServiceClient(srv.nimbus.blobHttpsUrl, credentialFor(p), options);
  };
  const authorization = new AuthorizationManagementClient(credentialFor(DEV_PRINCIPAL), DEFAULT_SUBSCRIPTION_ID, {
    endpoint: srv.armUrl, credentialScopes: [MANAGEMENT_SCOPE], tlsOptions, retryOptions: { maxRetries: 0 },
  });
  let counter = 0;
  const assign = async (scope: string, role: string, p: ServicePrincipal) => {
    counter += 1;
    const name = `aaaaaaaa-0000-4000-8000-${String(counter).padStart(12, '0')}`;
    await authorization.roleAssignments.create(scope, name, {
      roleDefinitionId: `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
      principalId: p.clientId,
      principalType: 'ServicePrincipal',
    });
    return name;
  };
  return { ...srv, httpsUrl: srv.nimbus.blobHttpsUrl, credentialFor, blobClientFor, authorization, assign };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request to the blob endpoint (https by default), for what the SDK will not send. */
export function rawBlob(
  srv: Pick<BearerServer, 'armCaPem' | 'nimbus'>,
  method: string,
  pathAndQuery: string,
  options: { token?: string; headers?: Record<string, string>; body?: string; http?: boolean } = {},
): Promise<RawResponse> {
  const base = options.http ? `http://127.0.0.1:${srv.nimbus.blobPort}` : `https://127.0.0.1:${srv.nimbus.blobHttpsPort}`;
  const headers: Record<string, string> = { 'x-ms-version': '2025-01-05', ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  const send = options.http ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(new URL(pathAndQuery, base), { method, headers, ca: srv.armCaPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
