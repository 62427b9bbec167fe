// Exact-length reads from a socket: the NBD framing is "n bytes of header, then length bytes of
// payload", so the connection loop asks for exactly n bytes at a time. One read is outstanding at
// a time (the loop is sequential; request handling is what runs concurrently).
//
// Backpressure: bytes the loop has not asked for pile up to HIGH_WATER_BYTES, then the socket is
// paused until the loop asks again. A read larger than the high-water mark (a 32 MiB WRITE)
// resumes the socket until it is satisfied, so the mark never deadlocks a big request.
import type { Socket } from 'node:net';

const HIGH_WATER_BYTES = 8 * 1024 * 1024;

export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
}

interface Waiter {
  bytes: number;
  resolve(data: Buffer): void;
  reject(error: Error): void;
}

export class ByteReader {
  readonly #socket: Socket;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #waiter: Waiter | undefined;
  #closed: Error | undefined;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      this.#serve();
      if (this.#waiter === undefined && this.#buffered >= HIGH_WATER_BYTES) socket.pause();
    });
    const close = (error?: Error) => {
      this.#closed ??= new ConnectionClosedError(error ? `connection failed: ${error.message}` : 'connection closed');
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.reject(this.#closed);
    };
    socket.on('end', () => close());
    socket.on('close', () => close());
    socket.on('error', (error) => close(error));
  }

  /** Exactly `bytes` bytes; rejects with ConnectionClosedError if the peer goes away first. */
  read(bytes: number): Promise<Buffer> {
    if (this.#waiter) return Promise.reject(new Error('ByteReader: a read is already outstanding'));
    if (this.#buffered >= bytes) return Promise.resolve(this.#take(bytes));
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise<Buffer>((resolve, reject) => {
      this.#waiter = { bytes, resolve, reject };
      this.#socket.resume();
    });
  }

  /** Reads and drops `bytes` (the payload of a WRITE that is refused), without holding it all. */
  async skip(bytes: number): Promise<void> {
    for (let left = bytes; left > 0; ) {
      const take = Math.min(left, HIGH_WATER_BYTES);
      await this.read(take);
      left -= take;
    }
  }

  #serve(): void {
    const waiter = this.#waiter;
    if (!waiter || this.#buffered < waiter.bytes) return;
    this.#waiter = undefined;
    waiter.resolve(this.#take(waiter.bytes));
  }

  #take(bytes: number): Buffer {
    const first = this.#chunks[0];
    let out: Buffer;
    if (first && first.length >= bytes) {
      out = first.subarray(0, bytes);
      if (first.length === bytes) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(bytes);
    } else {
      out = Buffer.allocUnsafe(bytes);
      let filled = 0;
      while (filled < bytes) {
        const chunk = this.#chunks[0];
        if (!chunk) throw new Error('ByteReader: buffered count out of step');
        const take = Math.min(chunk.length, bytes - filled);
        chunk.copy(out, filled, 0, take);
        filled += take;
        if (take === chunk.length) this.#chunks.shift();
        else this.#chunks[0] = chunk.subarray(take);
      }
    }
    this.#buffered -= bytes;
    if (this.#buffered < HIGH_WATER_BYTES) this.#socket.resume();
    return out;
  }
}
