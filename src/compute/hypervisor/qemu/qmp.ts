// QMP client: QEMU's JSON monitor over a unix socket (docs: qemu `docs/interop/qmp-spec.rst`).
//
// One command in flight at a time, matched by `id`; asynchronous events (lines with "event")
// are kept in a short list so a caller can wait for e.g. MIGRATION {status: completed} even if
// it arrived before the wait began. A new QEMU process means a new QmpClient (new socket path).
import { LineSocket } from './line-socket.js';
import { monotonicMs } from '../../../platform/clock.js';
import { HypervisorError } from '../errors.js';

export interface QmpEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

interface QmpReply {
  id?: number;
  return?: unknown;
  error?: { class: string; desc: string };
  event?: string;
  data?: Record<string, unknown>;
  QMP?: unknown;
}

const EVENTS_KEPT = 64;

export class QmpClient {
  readonly #socket: LineSocket;
  readonly #events: QmpEvent[] = [];
  #nextId = 1;
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(socket: LineSocket) {
    this.#socket = socket;
  }

  /** Connects, reads the greeting and leaves capabilities negotiation mode. */
  static async connect(path: string, timeoutMs: number): Promise<QmpClient> {
    const socket = await LineSocket.connect(path, timeoutMs);
    const greeting = JSON.parse(await socket.nextLine(timeoutMs)) as QmpReply;
    if (greeting.QMP === undefined) throw new HypervisorError('MonitorError', { reason: 'no QMP greeting', path });
    const client = new QmpClient(socket);
    await client.execute('qmp_capabilities', undefined, timeoutMs);
    return client;
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    const run = this.#busy.then(() => this.#exchange<T>(command, args, timeoutMs));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Resolves with the first matching event, including one already received. */
  async waitEvent(name: string, match: (data: Record<string, unknown>) => boolean, timeoutMs: number): Promise<QmpEvent> {
    const deadline = monotonicMs() + timeoutMs;
    for (;;) {
      const found = this.#takeEvent(name, match);
      if (found) return found;
      const left = deadline - monotonicMs();
      if (left <= 0) throw new HypervisorError('MonitorError', { reason: `timed out waiting for ${name}` });
      // Only events can arrive while no command is in flight; route them through the same reader.
      await (this.#busy = this.#busy.then(() => this.#readOne(left)).catch(() => undefined));
    }
  }

  close(): void {
    this.#socket.close();
  }

  async #exchange<T>(command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<T> {
    const id = this.#nextId++;
    this.#socket.write(`${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`);
    for (;;) {
      const reply = await this.#readOne(timeoutMs);
      if (reply?.id !== id) continue;
      if (reply.error) {
        throw new HypervisorError('MonitorError', { command, class: reply.error.class, reason: reply.error.desc });
      }
      return reply.return as T;
    }
  }

  async #readOne(timeoutMs: number): Promise<QmpReply | null> {
    const reply = JSON.parse(await this.#socket.nextLine(timeoutMs)) as QmpReply;
    if (reply.event === undefined) return reply;
    this.#events.push({ event: reply.event, data: reply.data ?? {} });
    if (this.#events.length > EVENTS_KEPT) this.#events.shift();
    return null;
  }

  #takeEvent(name: string, match: (data: Record<string, unknown>) => boolean): QmpEvent | undefined {
    const index = this.#events.findIndex((e) => e.event === name && match(e.data));
    return index < 0 ? undefined : this.#events.splice(index, 1)[0];
  }
}
