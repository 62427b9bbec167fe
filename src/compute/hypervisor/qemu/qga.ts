// qemu-guest-agent client (docs: qemu `qga/qapi-schema.json`), spoken over a plain 16550 UART in
// the guest (ttyS2, `qemu-ga -m isa-serial`) that QEMU exposes as a unix socket on the host.
//
// A serial line has no framing or reset, so every exchange starts with guest-sync-delimited:
// the host sends 0xFF (which resets qemu-ga's JSON parser) and a fresh id, then discards lines
// until the reply carrying that id. After that, replies line up one to one with requests.
//
// Clock: guest-get-time is the probe (round trip ~1.5-2 ms under TCG), guest-set-time the step;
// the driver repeats set + measure until the residual is small (see QemuDriver.syncClock).
import type { Clock } from '../../../platform/clock.js';
import { monotonicMs } from '../../../platform/clock.js';
import { randomHex } from '../../../platform/ids.js';
import { delay } from '../../../platform/clock.js';
import { LineSocket } from './line-socket.js';
import { HypervisorError } from '../errors.js';
import type { ClockMeasurement } from '../driver.js';

interface QgaReply {
  return?: unknown;
  error?: { class: string; desc: string };
}

export interface GuestExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const CLOCK_SAMPLES = 5;

export class QgaClient {
  readonly #socket: LineSocket;
  readonly #clock: Clock;
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(socket: LineSocket, clock: Clock) {
    this.#socket = socket;
    this.#clock = clock;
  }

  static async connect(path: string, clock: Clock, timeoutMs: number): Promise<QgaClient> {
    return new QgaClient(await LineSocket.connect(path, timeoutMs), clock);
  }

  /** Waits until the agent answers a sync (it starts a while after the guest kernel). */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = monotonicMs() + timeoutMs;
    for (;;) {
      try {
        await this.#serial(() => this.#sync(1000));
        return;
      } catch (error) {
        if (monotonicMs() > deadline) throw error;
      }
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 5000): Promise<T> {
    return this.#serial(async () => {
      await this.#sync(timeoutMs);
      return this.#exchange<T>(command, args, timeoutMs);
    });
  }

  /** Guest-minus-host offset: the median over `samples` guest-get-time round trips, slow ones dropped. */
  measureClock(samples = CLOCK_SAMPLES): Promise<ClockMeasurement> {
    return this.#serial(async () => {
      await this.#sync(5000);
      const offsets: number[] = [];
      const rtts: number[] = [];
      for (let i = 0; i < samples; i++) {
        const sent = this.#hostMs();
        const guestNs = await this.#exchange<number>('guest-get-time', undefined, 5000);
        const received = this.#hostMs();
        offsets.push(guestNs / 1e6 - (sent + received) / 2);
        rtts.push(received - sent);
      }
      // A sample whose round trip was slow (guest busy, host scheduling) bounds the offset loosely;
      // keep those within 1.5x of the fastest before taking the median.
      const fastest = Math.min(...rtts);
      const kept = offsets.filter((_, i) => (rtts[i] ?? Infinity) <= fastest * 1.5);
      return { offsetMs: median(kept), rttMs: median(rtts), samples: kept.length };
    });
  }

  /** Sets the guest clock to host time plus `correctionMs` plus the expected one-way latency. */
  setClock(oneWayMs: number, correctionMs: number): Promise<void> {
    return this.#serial(async () => {
      await this.#sync(5000);
      const targetMs = this.#hostMs() + oneWayMs + correctionMs;
      await this.#exchange('guest-set-time', { time: Math.round(targetMs * 1e6) }, 5000);
    });
  }

  /** Runs a program in the guest and waits for it (guest-exec + guest-exec-status). */
  async exec(path: string, args: readonly string[], timeoutMs = 30_000): Promise<GuestExecResult> {
    const { pid } = await this.execute<{ pid: number }>('guest-exec', { path, arg: args, 'capture-output': true });
    const deadline = monotonicMs() + timeoutMs;
    for (;;) {
      const status = await this.execute<{ exited: boolean; exitcode?: number; 'out-data'?: string; 'err-data'?: string }>(
        'guest-exec-status',
        { pid },
      );
      if (status.exited) {
        return {
          exitCode: status.exitcode ?? -1,
          stdout: Buffer.from(status['out-data'] ?? '', 'base64').toString('utf8'),
          stderr: Buffer.from(status['err-data'] ?? '', 'base64').toString('utf8'),
        };
      }
      if (monotonicMs() > deadline) throw new HypervisorError('GuestAgentTimeout', { command: `guest-exec ${path}` });
      await delay(20);
    }
  }

  close(): void {
    this.#socket.close();
  }

  #hostMs(): number {
    return this.#clock.nowPreciseMs?.() ?? this.#clock.nowMs();
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(work);
    this.#busy = run.catch(() => undefined);
    return run;
  }

  async #sync(timeoutMs: number): Promise<void> {
    const id = Number.parseInt(randomHex(4), 16) & 0x7fffffff;
    this.#socket.discardPending();
    this.#socket.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`${JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } })}\n`)]));
    for (;;) {
      const line = await this.#socket.nextLine(timeoutMs);
      const reply = parseReply(line);
      if (reply?.return === id) return;
    }
  }

  async #exchange<T>(command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<T> {
    this.#socket.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    const reply = parseReply(await this.#socket.nextLine(timeoutMs));
    if (reply === null) throw new HypervisorError('GuestAgentTimeout', { command, reason: 'unparseable reply' });
    if (reply.error) throw new HypervisorError('MonitorError', { command, class: reply.error.class, reason: reply.error.desc });
    return reply.return as T;
  }
}

function parseReply(line: string): QgaReply | null {
  try {
    return JSON.parse(line) as QgaReply;
  } catch {
    return null; // line noise from before the parser reset
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? upper) + upper) / 2;
}
