// Resident memory of the server process under test, read from /proc (Linux only).
//
// Two sources, and the larger wins:
// - VmRSS sampled every `sampleMs`: cheap, but can miss a short spike between samples.
// - VmHWM, the kernel's exact peak. Writing "5" to /proc/<pid>/clear_refs resets it (Linux ≥ 4.0,
//   https://docs.kernel.org/filesystems/proc.html), so a phase's exact peak is: reset, run, read VmHWM.
//   If the reset is refused, the phase peak falls back to samples (and `exact` says so).
//
// The pid must be the node process itself (servers.ts spawns process.execPath directly, no npm/sh wrapper).

import { readFileSync, writeFileSync } from 'node:fs';

export interface PhasePeak {
  peakMiB: number;
  /** True when the kernel high-water mark was reset at phase start, so the peak is exact. */
  exact: boolean;
}

export class RssMonitor {
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  #overallPeakKiB = 0;
  #phasePeakKiB = 0;

  constructor(pid: number, sampleMs: number) {
    this.#pid = pid;
    this.#timer = setInterval(() => this.#sample(), sampleMs);
    this.#timer.unref();
    this.#sample();
  }

  /** Runs `work` and returns the server's peak RSS while it ran. */
  async measure<T>(work: () => Promise<T>): Promise<{ result: T; peak: PhasePeak }> {
    this.#absorbHighWaterMark();
    const exact = this.#resetHighWaterMark();
    this.#phasePeakKiB = this.#readKiB('VmRSS') ?? 0;
    const result = await work();
    this.#sample();
    const hwmKiB = exact ? (this.#readKiB('VmHWM') ?? 0) : 0;
    const phaseKiB = Math.max(this.#phasePeakKiB, hwmKiB);
    this.#overallPeakKiB = Math.max(this.#overallPeakKiB, phaseKiB);
    return { result, peak: { peakMiB: phaseKiB / 1024, exact } };
  }

  /** Peak over the monitor's whole life; call before the server stops. */
  overallPeakMiB(): number {
    this.#absorbHighWaterMark();
    return this.#overallPeakKiB / 1024;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    const rssKiB = this.#readKiB('VmRSS');
    if (rssKiB === undefined) return;
    this.#phasePeakKiB = Math.max(this.#phasePeakKiB, rssKiB);
    this.#overallPeakKiB = Math.max(this.#overallPeakKiB, rssKiB);
  }

  #absorbHighWaterMark(): void {
    this.#overallPeakKiB = Math.max(this.#overallPeakKiB, this.#readKiB('VmHWM') ?? 0);
  }

  #resetHighWaterMark(): boolean {
    try {
      writeFileSync(`/proc/${this.#pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  #readKiB(field: 'VmRSS' | 'VmHWM'): number | undefined {
    try {
      const status = readFileSync(`/proc/${this.#pid}/status`, 'utf8');
      const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    } catch {
      return undefined; // the process has exited
    }
  }
}

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat; undefined if unreadable. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ", field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** USER_HZ is 100 on every Linux build node ships for; getconf is not worth a child process. */
const CLOCK_TICKS_PER_SECOND = 100;
