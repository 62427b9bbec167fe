// The load generator's client: Shared Key signed requests over a pool of keep-alive connections
// (bench/http-connection.ts, a minimal HTTP/1.1 client; see there why not node:http).
//
// Why not @azure/storage-blob: on a 2-core box the client shares the CPU with the server under test, and the
// SDK's pipeline (policies, retries, XML (de)serialisers) costs more per request than a small Nimbus request.
// This client does the minimum the wire demands: build headers, sign, send, drain. bench/wire-check.ts proves
// that what it sends is what the SDK would send, by reading its writes back through the SDK and vice versa.
//
// Invariants:
// - At most `maxSockets` connections, one request in flight on each; a workload phase makes its own client
//   and closes it, so no connection idles between phases.
// - A request that fails on a reused connection before any response byte arrived is retried once on a new
//   connection: the server may close an idle keep-alive connection just as a request is sent (the race every
//   keep-alive client has). Anything else fails the run.
// - `path` is already percent-encoded; `query` values are decoded (signing canonicalises the decoded values,
//   https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key#shared-key-format).

import { signSharedKey } from '../src/azure-wire/shared-key.js';
import { HttpConnection } from './http-connection.js';

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
  /** Lower-case names. */
  headers: Readonly<Record<string, string>>;
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
  readonly #maxSockets: number;
  readonly #idle: HttpConnection[] = [];
  readonly #waiting: Array<(connection: HttpConnection) => void> = [];
  #open = 0;

  constructor(endpoint: BlobEndpoint, maxSockets: number) {
    this.#endpoint = endpoint;
    this.#maxSockets = maxSockets;
  }

  /** Sends one request; throws UnexpectedStatusError unless the status is `expectedStatus`. */
  async send(request: WireRequest, expectedStatus: number, sink: BodySink): Promise<WireResponse> {
    const response = await this.#exchange(request, expectedStatus, sink);
    if (response.status !== expectedStatus) {
      const code = response.headers['x-ms-error-code'];
      const detail = response.text === undefined || response.text === '' ? '' : `: ${response.text.slice(0, 300)}`;
      throw new UnexpectedStatusError(describe(request), response.status, code, detail);
    }
    return response;
  }

  close(): void {
    for (const connection of this.#idle.splice(0)) connection.close();
  }

  async #exchange(request: WireRequest, expectedStatus: number, sink: BodySink): Promise<WireResponse> {
    const head = this.#head(request);
    for (let attempt = 0; ; attempt++) {
      const connection = await this.#acquire();
      const textChunks: Buffer[] = [];
      let bodyBytes = 0;
      // Error bodies are kept too, so failures can be explained.
      let keepText = sink.kind === 'text';
      const handlers = {
        onHead: (status: number): void => {
          keepText ||= status !== expectedStatus;
        },
        onChunk: (chunk: Buffer): void => {
          bodyBytes += chunk.length;
          if (keepText) textChunks.push(Buffer.from(chunk)); // chunk is only lent (http-connection.ts)
          else if (sink.kind === 'stream') sink.onChunk(chunk);
        },
      };
      try {
        const response = await connection.request(head, request.body, request.method === 'HEAD', handlers);
        this.#release(connection);
        return { status: response.status, headers: response.headers, bodyBytes, text: keepText ? Buffer.concat(textChunks).toString('utf8') : undefined };
      } catch (error) {
        const retryable = attempt === 0 && connection.reused && connection.receivedBytes === 0;
        this.#release(connection);
        if (!retryable) throw error;
      }
    }
  }

  #acquire(): Promise<HttpConnection> {
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(idle);
    if (this.#open < this.#maxSockets) {
      this.#open += 1;
      return Promise.resolve(new HttpConnection(this.#endpoint.host, this.#endpoint.port));
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(connection: HttpConnection): void {
    if (connection.closed) {
      this.#open -= 1;
      if (this.#waiting.length > 0 && this.#open < this.#maxSockets) {
        this.#open += 1;
        this.#waiting.shift()?.(new HttpConnection(this.#endpoint.host, this.#endpoint.port));
      }
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter(connection);
    else this.#idle.push(connection);
  }

  /** Request line and headers, signed, as one latin1 string. */
  #head(request: WireRequest): string {
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
    const path = `/${this.#endpoint.accountName}${request.path}${queryString(request.query ?? [])}`;
    let head = `${request.method} ${path} HTTP/1.1\r\nHost: ${this.#endpoint.host}:${this.#endpoint.port}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    return `${head}\r\n`;
  }
}

function queryString(query: ReadonlyArray<readonly [string, string]>): string {
  if (query.length === 0) return '';
  return `?${query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&')}`;
}

function describe(request: WireRequest): string {
  return `${request.method} ${request.path}${queryString(request.query ?? [])}`;
}
