// The one source of time. Every rule that depends on time (retention, lifecycle, SAS expiry,
// lease expiry, maintenance) reads a Clock handed to it; tests hand a ManualClock and move it.
// Only this folder may call Date.now(), setTimeout or setInterval.

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  now(): Date;
}

export class SystemClock implements Clock {
  nowMs(): number {
    return Date.now();
  }
  now(): Date {
    return new Date(Date.now());
  }
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
