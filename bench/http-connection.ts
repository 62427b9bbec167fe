// A minimal HTTP/1.1 client connection for the load generator: one keep-alive TCP socket, one request
// at a time, the response parsed by hand (status line, headers, Content-Length or chunked body).
//
// Why not node:http: on this 2-core machine the client shares the CPU with the server under test, and
// node:http's client costs ~100-120 µs of CPU per small request (measured against a bare node:http
// server answering from memory): more than a small Nimbus GET costs the server. A load generator that
// needs more CPU than the server it measures caps the figure at its own speed; this one needs a few µs.
// It is the same client for both servers, so the comparison stays fair.
//
// Reads land in one buffer per connection, reused for every read (net's `onread`), instead of a fresh
// buffer per read that the garbage collector must then reclaim, and whose pages are new memory (costly on
// this VM). On the 256 MiB streamed, verified download, the client's CPU fell from 156–165 to 70–110 ms,
// and with `npm run bench -- --workloads big-blob` the measured download rose from 638 to 1,952 MiB/s for
// Nimbus and from 420 to 642 for Azurite: the old client, not the servers, had set most of that figure.
//
// Invariants:
// - One request in flight per connection; the caller (SignedBlobClient) owns a pool.
// - A body chunk handed to onChunk is a view of the read buffer, valid only during that call: a consumer
//   that keeps bytes copies them. Bytes kept between reads (a partial head or chunk-size line) are copied.
// - The whole request goes out in one write (headers and body gathered with cork/uncork).
// - A response is complete when its body is (Content-Length, the terminating chunk, or no body for
//   HEAD/1xx/204/304); anything unexpected from the server destroys the connection and fails the request.

import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
}

export interface ResponseHandlers {
  /** The status line arrived (before any body chunk). */
  onHead(status: number): void;
  /** A piece of the body, valid only during this call (the buffer is reused for the next read). */
  onChunk(chunk: Buffer): void;
}

const HEADER_BYTES_MAX = 64 * 1024;
const READ_BUFFER_BYTES = 64 * 1024;

type BodyState =
  | { kind: 'none' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked'; remaining: number; phase: 'size' | 'data' | 'data-crlf' | 'trailer' };

interface Exchange {
  head: boolean;
  handlers: ResponseHandlers;
  resolve(response: RawResponse): void;
  reject(error: Error): void;
  response: RawResponse | undefined;
  body: BodyState;
}

export class HttpConnection {
  readonly #socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #exchange: Exchange | undefined;
  #closed = false;
  #usedBefore = false;
  #receivedBytes = 0;

  constructor(host: string, port: number) {
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    this.#socket = net.connect({
      host, port, noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (bytes: number) => {
          this.#onData(readBuffer.subarray(0, bytes));
          return true; // keep reading
        },
      },
    });
    this.#socket.on('error', (error) => this.#fail(error));
    this.#socket.on('close', () => this.#fail(new Error('connection closed by the server')));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True once a request completed on this connection (a failure may then be a keep-alive race). */
  get reused(): boolean {
    return this.#usedBefore;
  }

  request(head: string, body: Buffer | undefined, isHead: boolean, handlers: ResponseHandlers): Promise<RawResponse> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    if (this.#exchange !== undefined) return Promise.reject(new Error('one request at a time per connection'));
    return new Promise<RawResponse>((resolve, reject) => {
      this.#exchange = { head: isHead, handlers, resolve, reject, response: undefined, body: { kind: 'none' } };
      this.#receivedBytes = 0;
      this.#socket.cork();
      this.#socket.write(head, 'latin1');
      if (body !== undefined && body.length > 0) this.#socket.write(body);
      this.#socket.uncork();
    });
  }

  /** Bytes received since the last request was sent (0 after a failure: the server never answered it). */
  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #onData(data: Buffer): void {
    const exchange = this.#exchange;
    if (exchange === undefined) {
      this.#fail(new Error('unexpected bytes from the server between responses'));
      return;
    }
    this.#receivedBytes += data.length;
    this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data]);
    try {
      this.#parse(exchange);
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
    // What is left may be a view of the read buffer, which the next read overwrites: keep a copy.
    if (this.#buffer.length > 0 && this.#buffer.buffer === data.buffer) this.#buffer = Buffer.from(this.#buffer);
  }

  #parse(exchange: Exchange): void {
    if (exchange.response === undefined) {
      const end = this.#buffer.indexOf('\r\n\r\n', 0, 'latin1');
      if (end === -1) {
        if (this.#buffer.length > HEADER_BYTES_MAX) throw new Error('response headers too long');
        return;
      }
      const { response, body } = parseHead(this.#buffer.toString('latin1', 0, end), exchange.head);
      exchange.response = response;
      exchange.body = body;
      this.#buffer = this.#buffer.subarray(end + 4);
      exchange.handlers.onHead(response.status);
    }
    this.#consumeBody(exchange);
  }

  #consumeBody(exchange: Exchange): void {
    const body = exchange.body;
    while (true) {
      if (body.kind === 'none') return this.#finish(exchange);
      if (body.kind === 'length') {
        if (this.#buffer.length > 0 && body.remaining > 0) {
          const take = Math.min(body.remaining, this.#buffer.length);
          exchange.handlers.onChunk(this.#buffer.subarray(0, take));
          body.remaining -= take;
          this.#buffer = this.#buffer.subarray(take);
        }
        if (body.remaining === 0) return this.#finish(exchange);
        return;
      }
      // chunked
      if (body.phase === 'size' || body.phase === 'data-crlf' || body.phase === 'trailer') {
        const lineEnd = this.#buffer.indexOf('\r\n', 0, 'latin1');
        if (lineEnd === -1) return;
        const line = this.#buffer.toString('latin1', 0, lineEnd);
        this.#buffer = this.#buffer.subarray(lineEnd + 2);
        if (body.phase === 'data-crlf') {
          if (line !== '') throw new Error('malformed chunk terminator');
          body.phase = 'size';
        } else if (body.phase === 'trailer') {
          if (line === '') return this.#finish(exchange);
        } else {
          const size = Number.parseInt(line.split(';')[0] ?? '', 16);
          if (!Number.isFinite(size) || size < 0) throw new Error(`malformed chunk size ${JSON.stringify(line)}`);
          if (size === 0) body.phase = 'trailer';
          else {
            body.remaining = size;
            body.phase = 'data';
          }
        }
        continue;
      }
      if (this.#buffer.length === 0) return;
      const take = Math.min(body.remaining, this.#buffer.length);
      exchange.handlers.onChunk(this.#buffer.subarray(0, take));
      body.remaining -= take;
      this.#buffer = this.#buffer.subarray(take);
      if (body.remaining === 0) body.phase = 'data-crlf';
    }
  }

  #finish(exchange: Exchange): void {
    if (this.#buffer.length > 0) throw new Error('bytes after the end of a response');
    const response = exchange.response;
    if (response === undefined) throw new Error('finished without a response');
    this.#exchange = undefined;
    this.#usedBefore = true;
    if (response.headers['connection']?.toLowerCase() === 'close') this.close();
    exchange.resolve(response);
  }

  #fail(error: Error): void {
    const wasClosed = this.#closed;
    this.#closed = true;
    if (!wasClosed) this.#socket.destroy();
    const exchange = this.#exchange;
    this.#exchange = undefined;
    exchange?.reject(error);
  }
}

function parseHead(text: string, isHead: boolean): { response: RawResponse; body: BodyState } {
  const lines = text.split('\r\n');
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (statusMatch === null) throw new Error(`malformed status line ${JSON.stringify(lines[0])}`);
  const status = Number(statusMatch[1]);
  const headers: Record<string, string> = {};
  for (let index = 1; index < lines.length; index++) {
    const line = lines[index] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line ${JSON.stringify(line)}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const response = { status, headers };
  if (isHead || status === 204 || status === 304 || status < 200) return { response, body: { kind: 'none' } };
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    return { response, body: { kind: 'chunked', remaining: 0, phase: 'size' } };
  }
  const length = headers['content-length'];
  if (length === undefined) throw new Error('response without Content-Length or chunked encoding (read-until-close is not supported)');
  const remaining = Number(length);
  if (!Number.isSafeInteger(remaining) || remaining < 0) throw new Error(`malformed Content-Length ${length}`);
  return { response, body: remaining === 0 ? { kind: 'none' } : { kind: 'length', remaining } };
}
