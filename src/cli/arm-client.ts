// How the `nimbus` command reaches a running Nimbus's management endpoint: HTTPS + bearer token, the
// same ARM API every other client uses (no back door into the server's state).
//
// Where the endpoint, CA and credential come from, first match wins:
//   endpoint    --arm-port N (with --host, default 127.0.0.1)  |  <data-dir>/server.json `armUrl`
//   CA          --ca FILE  |  server.json `armCaPath`  |  <data-dir>/arm-ca.pem  |  Node's trust store
//               (NODE_EXTRA_CA_CERTS)
//   token       NIMBUS_ARM_TOKEN  |  the development token file (server.json `armDevTokenPath`, or
//               <data-dir>/arm-dev-token)  |  a token from the issuer for the development principal
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { DEV_PRINCIPAL } from '../arm/principals.js';

export const CLI_API_VERSION = '2023-05-01';
const TIMEOUT_MS = 30_000;

export interface ArmConnectionOptions {
  dataDir: string;
  armPort?: string;
  host?: string;
  caFile?: string;
  env: NodeJS.ProcessEnv;
}

interface ServerFile {
  armUrl?: string;
  armCaPath?: string;
  armDevTokenPath?: string;
}

/** An ARM call that got an ARM error back. */
export class ArmCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** A failure the CLI explains in one line; exit code 2 for usage mistakes, 1 for everything else. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export interface ArmClient {
  readonly url: string;
  call(method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<unknown>;
}

export async function connectArm(options: ArmConnectionOptions): Promise<ArmClient> {
  const server = readServerFile(options.dataDir);
  const url = options.armPort !== undefined
    ? `https://${options.host ?? '127.0.0.1'}:${options.armPort}`
    : server?.armUrl;
  if (url === undefined) {
    throw new CliError(`no running Nimbus found: ${join(options.dataDir, 'server.json')} is missing (start \`nimbus serve\`, or pass --data-dir DIR or --arm-port N)`);
  }
  const caPath = options.caFile ?? server?.armCaPath ?? existing(join(options.dataDir, 'arm-ca.pem'));
  const ca = caPath === undefined ? undefined : readFileSync(caPath, 'utf8');
  const send = (method: string, path: string, headers: Record<string, string>, body?: string) => sendRequest({ url, ca, method, path, headers, body });
  const token = options.env.NIMBUS_ARM_TOKEN
    ?? readToken(server?.armDevTokenPath ?? join(options.dataDir, 'arm-dev-token'))
    ?? (await principalToken(send));
  return {
    url,
    async call(method, path, body) {
      const separator = path.includes('?') ? '&' : '?';
      const text = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (text !== undefined) headers['content-type'] = 'application/json';
      const response = await send(method, `${path}${separator}api-version=${CLI_API_VERSION}`, headers, text);
      const parsed = parseJson(response.body);
      if (response.status >= 400) throw armCallError(response.status, parsed);
      return parsed;
    },
  };
}

function readServerFile(dataDir: string): ServerFile | undefined {
  const path = join(dataDir, 'server.json');
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as ServerFile;
}

function existing(path: string): string | undefined {
  return existsSync(path) ? path : undefined;
}

function readToken(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

type Send = (method: string, path: string, headers: Record<string, string>, body?: string) => Promise<{ status: number; body: string }>;

async function principalToken(send: Send): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials', client_id: DEV_PRINCIPAL.clientId, client_secret: DEV_PRINCIPAL.clientSecret,
    scope: 'https://management.azure.com/.default',
  }).toString();
  const response = await send('POST', `/${DEV_PRINCIPAL.tenantId}/oauth2/v2.0/token`, { 'content-type': 'application/x-www-form-urlencoded' }, form);
  const parsed = parseJson(response.body) as { access_token?: string; error_description?: string } | undefined;
  if (response.status !== 200 || typeof parsed?.access_token !== 'string') {
    throw new CliError(`could not get a management token for the development principal: ${parsed?.error_description ?? `HTTP ${response.status}`}`);
  }
  return parsed.access_token;
}

function sendRequest(r: { url: string; ca: string | undefined; method: string; path: string; headers: Record<string, string>; body: string | undefined }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(r.path, r.url);
    const headers = r.body === undefined ? r.headers : { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) };
    const req = request(target, { method: r.method, headers, ca: r.ca, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'ECONNREFUSED' ? ' (is `nimbus serve` running?)' : '';
      reject(new CliError(`cannot reach the management endpoint ${r.url}: ${error.message}${hint}`));
    });
    req.end(r.body);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function armCallError(status: number, body: unknown): ArmCallError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === 'string' ? error.code : `HTTP${status}`;
  const message = typeof error?.message === 'string' ? error.message : String(body ?? '');
  return new ArmCallError(status, code, message);
}
