// A unix-socket client that reads newline-terminated JSON lines: the transport under both QMP
// (QEMU's monitor) and qemu-ga (the guest agent behind a serial port).
//
// Byte 0xFF is dropped from the stream: qemu-ga sends it as a sync sentinel before the reply to
// guest-sync-delimited, and it never occurs in UTF-8 text, so dropping it is safe for QMP too.
import net from 'node:net';
import { delay, monotonicMs, withTimeout } from '../../../platform/clock.js';
import { HypervisorError } from '../errors.js';

export class LineSocket {
  readonly #socket: net.Socket;
  readonly #lines: string[] = [];
  readonly #waiters: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  #partial = '';
  #closed: Error | null = null;

  private constructor(socket: net.Socket, readonly path: string) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#close(error));
    socket.on('close', () => this.#close(new HypervisorError('VmNotRunning', { socket: path, reason: 'socket closed' })));
  }

  /** Connects, retrying while the socket file is missing or refusing (QEMU still starting). */
  static async connect(path: string, timeoutMs: number): Promise<LineSocket> {
    const deadline = monotonicMs() + timeoutMs;
    for (;;) {
      try {
        return new LineSocket(await connectOnce(path), path);
      } catch (error) {
        if (monotonicMs() > deadline) {
          throw new HypervisorError('VmStartFailed', { socket: path, reason: String(error) });
        }
        await delay(5);
      }
    }
  }

  write(text: string | Buffer): void {
    if (this.#closed) throw this.#closed;
    this.#socket.write(text);
  }

  nextLine(timeoutMs: number): Promise<string> {
    const ready = this.#lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.#closed) return Promise.reject(this.#closed);
    const waiter = new Promise<string>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    return withTimeout(waiter, timeoutMs, () => {
      this.#waiters.shift();
      return new HypervisorError('GuestAgentTimeout', { socket: this.path, timeoutMs: String(timeoutMs) });
    });
  }

  /** Forgets lines already received (stale replies before a resync). */
  discardPending(): void {
    this.#lines.length = 0;
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    const clean = chunk.includes(0xff) ? Buffer.from(chunk.filter((byte) => byte !== 0xff)) : chunk;
    const text = this.#partial + clean.toString('utf8');
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    for (const part of parts) {
      const line = part.trim();
      if (line === '') continue;
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve(line);
      else this.#lines.push(line);
    }
  }

  #close(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}

function connectOnce(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}
