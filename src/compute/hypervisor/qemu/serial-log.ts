// Reading what the test guest writes to its serial ports (see scripts/build-guest-image.sh):
// the console (ttyS0: "nimbus: ..." lines) and the heartbeat (ttyS1: "hb <counter> <uptime>").
import { readFile } from 'node:fs/promises';
import { delay, monotonicMs } from '../../../platform/clock.js';
import { HypervisorError } from '../errors.js';

export interface Heartbeat {
  readonly counter: number;
  readonly uptimeS: number;
}

export async function readHeartbeats(filePath: string): Promise<Heartbeat[]> {
  const text = await readFile(filePath, 'utf8').catch(() => '');
  const beats: Heartbeat[] = [];
  for (const match of text.matchAll(/^hb (\d+) ([\d.]+)\r?$/gm)) {
    beats.push({ counter: Number(match[1]), uptimeS: Number(match[2]) });
  }
  return beats;
}

/** Polls a serial log until a line matches; returns the match. */
export async function waitForLine(filePath: string, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    const text = await readFile(filePath, 'utf8').catch(() => '');
    const match = text.match(pattern);
    if (match) return match;
    if (monotonicMs() > deadline) {
      throw new HypervisorError('GuestAgentTimeout', { log: filePath, pattern: String(pattern), tail: text.slice(-400) });
    }
    await delay(50);
  }
}

/** Waits until the heartbeat counter exceeds `after`; returns the newest beat. */
export async function waitForHeartbeat(filePath: string, after: number, timeoutMs: number): Promise<Heartbeat> {
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    const last = (await readHeartbeats(filePath)).at(-1);
    if (last && last.counter > after) return last;
    if (monotonicMs() > deadline) throw new HypervisorError('GuestAgentTimeout', { log: filePath, after: String(after) });
    await delay(50);
  }
}
