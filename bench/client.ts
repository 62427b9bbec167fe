// The load generator's HTTP client: node:http with one keep-alive Agent, requests signed with Shared Key.
//
// Why not @azure/storage-blob: on a 2-core box the client shares the CPU with the server under test, and the
// SDK's pipeline (policies, retries, XML (de)serialisers) costs more per request than a small Nimbus request.
// This client does the minimum the wire demands: build headers, sign, send, drain. bench/wire-check.ts proves
// that what it sends is what the SDK would send, by reading its writes back through the SDK and vice versa.
//
// Invariants:
// - One Agent per client with maxSockets = concurrency; a workload phase makes its own client and closes it,
//   so no socket idles between phases long enough for the server's keep-alive timeout to race a reuse.
// - `path` is already percent-encoded; `query` values are decoded (signing canonicalises the decoded values,
//   https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key#shared-key-format).

import http from 'node:http';
import { signSharedKey } from '../src/azure-wire/shared-key.js';

export const API_VERSION = '2021-08-06';

export interface BlobEndpoint {
  host: string;
  port: number;
  accountName: string;
  accountKeyBase64: string;
}

export interface WireRequest {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE';
  /** Percent-encoded path below the account, e.g. "/bench/blob-1". */
  path: string;
  query?: ReadonlyArray<readonly [string, string]>;
  /** Lower-case header names. */
  headers?: Readonly<Record<string, string>>;
  body?: Buffer;
}

/** What to do with the response body: count it, keep it as text, or hand each chunk to a consumer. */
export type BodySink =
  | { kind: 'count' }
  | { kind: 'text' }
  | { kind: 'stream'; onChunk: (chunk: Buffer) => void };

export interface WireResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
  /** Present only for the 'text' sink, and for error statuses (so failures can be explained). */
  text: string | undefined;
}

export class UnexpectedStatusError extends Error {
  constructor(
    readonly request: string,
    readonly status: number,
    readonly errorCode: string | undefined,
    detail: string,
  ) {
    super(`${request} → HTTP ${status}${errorCode === undefined ? '' : ` ${errorCode}`}${detail}`);
  }
}

export class SignedBlobClient {
  readonly #endpoint: BlobEndpoint;
  readonly #agent: http.Agent;

  constructor(endpoint: BlobEndpoint, maxSockets: number) {
    this.#endpoint = endpoint;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  /** Sends one request; throws UnexpectedStatusError unless the status is `expectedStatus`. */
  async send(request: WireRequest, expectedStatus: number, sink: BodySink): Promise<WireResponse> {
    const response = await this.#exchange(request, expectedStatus, sink);
    if (response.status !== expectedStatus) {
      const code = response.headers['x-ms-error-code'];
      const detail = response.text === undefined || response.text === '' ? '' : `: ${response.text.slice(0, 300)}`;
      throw new UnexpectedStatusError(describe(request), response.status, typeof code === 'string' ? code : undefined, detail);
    }
    return response;
  }

  close(): void {
    this.#agent.destroy();
  }

  #exchange(request: WireRequest, expectedStatus: number, sink: BodySink): Promise<WireResponse> {
    const headers = this.#signedHeaders(request);
    const path = `/${this.#endpoint.accountName}${request.path}${queryString(request.query ?? [])}`;
    return new Promise<WireResponse>((resolve, reject) => {
      const outgoing = http.request(
        { host: this.#endpoint.host, port: this.#endpoint.port, method: request.method, path, headers, agent: this.#agent },
        (incoming) => {
          const keepText = sink.kind === 'text' || incoming.statusCode !== expectedStatus;
          const textChunks: Buffer[] = [];
          let bodyBytes = 0;
          incoming.on('data', (chunk: Buffer) => {
            bodyBytes += chunk.length;
            if (keepText) textChunks.push(chunk);
            else if (sink.kind === 'stream') sink.onChunk(chunk);
          });
          incoming.on('error', reject);
          incoming.on('end', () => {
            const text = keepText ? Buffer.concat(textChunks).toString('utf8') : undefined;
            resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, bodyBytes, text });
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(request.body);
    });
  }

  #signedHeaders(request: WireRequest): Record<string, string> {
    const headers: Record<string, string> = {
      'x-ms-date': new Date().toUTCString(),
      'x-ms-version': API_VERSION,
      ...request.headers,
    };
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    else if (request.method === 'PUT') headers['content-length'] = '0';
    headers['authorization'] = signSharedKey(
      { method: request.method, rawPath: `/${this.#endpoint.accountName}${request.path}`, query: request.query ?? [], headers },
      this.#endpoint.accountName,
      this.#endpoint.accountKeyBase64,
    );
    return headers;
  }
}

function queryString(query: ReadonlyArray<readonly [string, string]>): string {
  if (query.length === 0) return '';
  return `?${query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`;
}

function describe(request: WireRequest): string {
  return `${request.method} ${request.path}${queryString(request.query ?? [])}`;
}
