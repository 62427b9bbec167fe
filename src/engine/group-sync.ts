// Group commit: many callers wait for one fsync. A caller that arrives while a sync is running
// cannot ride on it (its write may have landed after that sync started), so it joins the next
// round, which starts as soon as the running one ends. Under load every round serves a whole
// batch of requests: concurrency costs one fsync per round, not one per request.

export class GroupSync {
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(private readonly flush: () => Promise<void>) {}

  /** A round is running (callers of sync() now would wait for the next one). */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  sync(): Promise<void> {
    if (!this.#running) {
      this.#running = this.#round();
      return this.#running;
    }
    if (!this.#next) {
      const after = this.#running;
      this.#next = after.then(
        () => this.#promoteNext(),
        () => this.#promoteNext(),
      );
    }
    return this.#next;
  }

  #promoteNext(): Promise<void> {
    this.#next = undefined;
    this.#running = this.#round();
    return this.#running;
  }

  async #round(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#running = undefined;
    }
  }
}
