// Lifecycle management as the rest of Nimbus sees it: the per-account policy (get/put/delete, what
// the ARM resource `managementPolicies/default` serves) and the scheduler step that runs each
// account's policy once per interval (Azure: about once a day) on the injected clock.
//
//   runDue(now)          every account with a policy whose last run started ≥ intervalMs ago
//                        (or never ran) and that has an enabled rule; called by main's scheduler
//                        and by Nimbus.runDue() in tests
//   runNow(account, now) the admin / CLI trigger: one run regardless of the schedule
//
// The last run's report (capped list of actions) is kept per account so an admin call can show it.
// Runs do not overlap: a call made while one is in progress waits for it and then checks again.
import type { MetaStore, MetaWriter } from '../../../engine/meta/meta-store.js';
import { asJson } from '../records.js';
import { runPolicy, type LifecycleBlobOps, type LifecycleRunReport } from './executor.js';
import { parsePolicy, policyAccounts, readPolicy, removePolicy, writePolicy, type StoredPolicy } from './policy.js';
import { isActive } from './rules.js';

export const LIFECYCLE_INTERVAL_DEFAULT_MS = 86_400_000;
export const REPORT_ACTIONS_MAX_DEFAULT = 1000;
const LAST_RUN_KEY = 'lifecycle-last-run';

export interface LifecycleOptions {
  /** How often a policy runs (Azure: about once a day). */
  intervalMs: number;
  /** Per-object actions kept in a run report; counts are always complete. */
  reportActionsMax: number;
}

export interface LifecycleDeps {
  meta: MetaStore;
  blobs: LifecycleBlobOps;
  options?: Partial<LifecycleOptions>;
}

/** Drops an account's policy (and its place in the scheduler's index) and last-run report. */
export async function forgetLifecycle(tx: MetaWriter, account: string): Promise<void> {
  await removePolicy(tx, account);
  await tx.putSetting(account, LAST_RUN_KEY, null);
}

export class Lifecycle {
  readonly #deps: LifecycleDeps;
  readonly #options: LifecycleOptions;
  #running: Promise<unknown> = Promise.resolve();

  constructor(deps: LifecycleDeps) {
    this.#deps = deps;
    this.#options = {
      intervalMs: deps.options?.intervalMs ?? LIFECYCLE_INTERVAL_DEFAULT_MS,
      reportActionsMax: deps.options?.reportActionsMax ?? REPORT_ACTIONS_MAX_DEFAULT,
    };
  }

  getPolicy(account: string): Promise<StoredPolicy | undefined> {
    return this.#deps.meta.read((tx) => readPolicy(tx, account));
  }

  /** Validates (LifecyclePolicyError) and replaces the account's policy: policies are written whole. */
  async setPolicy(account: string, properties: unknown, now: number): Promise<StoredPolicy> {
    const policy = parsePolicy(properties);
    return this.#deps.meta.write((tx) => writePolicy(tx, account, policy, now));
  }

  deletePolicy(account: string): Promise<boolean> {
    return this.#deps.meta.write((tx) => removePolicy(tx, account));
  }

  lastRun(account: string): Promise<LifecycleRunReport | undefined> {
    return this.#deps.meta.read(async (tx) => {
      const stored = await tx.getSetting(account, LAST_RUN_KEY);
      return stored === undefined || stored === null ? undefined : (stored as unknown as LifecycleRunReport);
    });
  }

  /** Runs every policy that is due. Returns the reports of the runs made. */
  runDue(now: number): Promise<LifecycleRunReport[]> {
    return this.#exclusive(async () => {
      const reports: LifecycleRunReport[] = [];
      for (const account of await this.#deps.meta.read((tx) => policyAccounts(tx))) {
        const last = await this.lastRun(account);
        if (last && now - last.startedMs < this.#options.intervalMs) continue;
        const report = await this.#run(account, now);
        if (report) reports.push(report);
      }
      return reports;
    });
  }

  /** Runs the account's policy now; undefined when it has no active policy. */
  runNow(account: string, now: number): Promise<LifecycleRunReport | undefined> {
    return this.#exclusive(() => this.#run(account, now));
  }

  async #run(account: string, now: number): Promise<LifecycleRunReport | undefined> {
    const stored = await this.getPolicy(account);
    if (!stored || !isActive(stored.policy)) return undefined;
    const report = await runPolicy(this.#deps, account, stored, now, { actionsMax: this.#options.reportActionsMax });
    await this.#deps.meta.write((tx) => tx.putSetting(account, LAST_RUN_KEY, asJson(report)));
    return report;
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#running.then(task, task);
    this.#running = next.catch(() => undefined);
    return next;
  }
}
