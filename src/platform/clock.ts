// The one source of time. Every rule that depends on time (retention, lifecycle, SAS expiry,
// lease expiry, maintenance) reads a Clock handed to it; tests hand a ManualClock and move it.
// Only this folder may call Date.now(), setTimeout or setInterval.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  now(): Date;
  /**
   * Wall-clock milliseconds with sub-millisecond resolution, where the clock has it. Used where a
   * millisecond of truncation matters (setting and measuring a guest VM's clock); others use nowMs().
   */
  nowPreciseMs?(): number;
}

export class SystemClock implements Clock {
  // Date.now() truncates to whole ms. nowPreciseMs() adds the monotonic clock's microseconds to an
  // anchor taken exactly at a Date.now() tick (found by spinning, <= 1 ms), re-anchored every 10 s
  // so NTP slewing of the wall clock never separates the two by more than a few microseconds.
  #anchor = { wallMs: 0, monoMs: -Infinity };
  nowMs(): number {
    return Date.now();
  }
  now(): Date {
    return new Date(Date.now());
  }
  nowPreciseMs(): number {
    const mono = performance.now();
    if (mono - this.#anchor.monoMs > 10_000) this.#anchor = anchorAtTick();
    return this.#anchor.wallMs + (performance.now() - this.#anchor.monoMs);
  }
}

function anchorAtTick(): { wallMs: number; monoMs: number } {
  const start = Date.now();
  const spinUntil = performance.now() + 2;
  for (;;) {
    const wallMs = Date.now();
    const monoMs = performance.now();
    if (wallMs !== start || monoMs > spinUntil) return { wallMs, monoMs };
  }
}

/** Monotonic milliseconds (sub-ms resolution) for measuring durations; never a wall time. */
export function monotonicMs(): number {
  return performance.now();
}

/** Settles like `promise`, or rejects with `onTimeout()` after `ms`; the timer never outlives it. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<never>((_, reject) => {
    handle = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timer]).finally(() => clearTimeout(handle));
}

/** A clock that moves only when told to. Starts at the real time unless given one. */
export class ManualClock implements Clock {
  #ms: number;
  constructor(startMs: number = Date.now()) {
    this.#ms = startMs;
  }
  nowMs(): number {
    return this.#ms;
  }
  now(): Date {
    return new Date(this.#ms);
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
  set(ms: number): void {
    this.#ms = ms;
  }
}

export const seconds = (n: number): number => n * 1000;
export const minutes = (n: number): number => n * 60_000;
export const days = (n: number): number => n * 86_400_000;

/** A repeating timer for background work; returns a function that stops it. */
export function every(intervalMs: number, task: () => void): () => void {
  const handle = setInterval(task, intervalMs);
  handle.unref();
  return () => clearInterval(handle);
}

/** Runs a task after the current I/O phase (used by group commit to gather a batch). */
export function soon(task: () => void): void {
  setImmediate(task);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
