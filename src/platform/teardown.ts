// Shutdown in reverse order of startup. Each resource registers how to close itself as soon as it
// is open; a failure half-way through startup closes exactly what was opened, and stop() closes
// everything, newest first (listeners before the stores they write to).

export class Teardown {
  readonly #steps: Array<() => Promise<void> | void> = [];

  push(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  /** Runs every step, newest first, once; a failing step does not stop the others. Rethrows the first error. */
  async run(): Promise<void> {
    let first: unknown;
    while (this.#steps.length > 0) {
      const step = this.#steps.pop();
      try {
        await step?.();
      } catch (error) {
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
  }

  /** Runs `start`; if it throws, tears down what was opened so far and rethrows. */
  async guard<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (error) {
      await this.run().catch(() => undefined);
      throw error;
    }
  }
}
