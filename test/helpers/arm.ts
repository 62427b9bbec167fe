// Official management SDKs pointed at a test server's ARM endpoint: @azure/identity's
// ClientSecretCredential against Nimbus's token issuer, @azure/arm-storage and @azure/arm-resources
// against its Resource Manager. This is the recipe the README documents:
//
//   - TLS: the endpoint's certificate is signed by a CA in the data dir. A process started with
//     NODE_EXTRA_CA_CERTS=<datadir>/arm-ca.pem needs nothing else; in-process (the CA is made after the
//     test process started) every client gets `tlsOptions: { ca }` (core-rest-pipeline's TLS settings).
//   - identity: `authorityHost: <armUrl>`, `disableInstanceDiscovery: true` (otherwise MSAL asks
//     login.microsoftonline.com which authorities exist).
//   - management clients: `endpoint: <armUrl>` and the management scope, so the token's audience is one
//     Nimbus's ARM accepts.
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ClientSecretCredential } from '@azure/identity';
import { StorageManagementClient } from '@azure/arm-storage';
import { ResourceManagementClient } from '@azure/arm-resources';
import { DEV_PRINCIPAL } from '../../src/arm/principals.js';
import { DEFAULT_SUBSCRIPTION_ID } from '../../src/accounts/model.js';
import type { TestServer } from './server.js';

export const MANAGEMENT_SCOPE = 'https://management.azure.com/.default';

export interface ArmClients {
  tokenCredential: ClientSecretCredential;
  storage: StorageManagementClient;
  resources: ResourceManagementClient;
  subscriptionId: string;
}

export function armClients(srv: Pick<TestServer, 'armUrl' | 'armCaPem'>, subscriptionId = DEFAULT_SUBSCRIPTION_ID): ArmClients {
  const tlsOptions = { ca: srv.armCaPem };
  const retryOptions = { maxRetries: 0 };
  const credential = new ClientSecretCredential(DEV_PRINCIPAL.tenantId, DEV_PRINCIPAL.clientId, DEV_PRINCIPAL.clientSecret, {
    authorityHost: srv.armUrl, disableInstanceDiscovery: true, tlsOptions, retryOptions,
  });
  const storage = new StorageManagementClient(credential, subscriptionId, {
    endpoint: srv.armUrl, credentials: { scopes: [MANAGEMENT_SCOPE] }, tlsOptions, retryOptions,
  });
  const resources = new ResourceManagementClient(credential, subscriptionId, {
    endpoint: srv.armUrl, credentialScopes: [MANAGEMENT_SCOPE], tlsOptions, retryOptions,
  });
  return { tokenCredential: credential, storage, resources, subscriptionId };
}

export interface RawArmResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error?: { code?: string; message?: string } } & Record<string, unknown>;
}

/** One HTTPS request to the ARM endpoint, for what the SDKs never send (no token, no api-version). */
export function armRequest(
  srv: Pick<TestServer, 'armUrl' | 'armCaPem'>,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<RawArmResponse> {
  const text = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (text !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, srv.armUrl), { method, headers, ca: srv.armCaPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw === '' ? {} : (JSON.parse(raw) as RawArmResponse['body']) });
      });
    });
    req.on('error', reject);
    req.end(text);
  });
}
