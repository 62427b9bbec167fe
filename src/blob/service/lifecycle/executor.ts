// One lifecycle run over one account at `now`: walk every live container in scope, decide per object
// (rules.ts), and apply the decisions through the data plane's own operations (Blobs.setBlobTier,
// Blobs.deleteBlob), so versioning, soft delete, leases and tier rules apply exactly as they do to a
// client: a deleted current version becomes a previous version when versioning is on, a deleted
// version or snapshot is soft-deleted when blob soft delete is on, and a tier set by the policy is an
// explicit tier (billing §8).
//
// Per blob name, entries arrive ordered S<time> (snapshots), V<id> (versions), ~ (current). The
// current version is handled last: Azure never deletes it while previous versions or snapshots
// remain, so its delete runs only when every live snapshot and version was deleted (by this run or
// before). Soft-deleted objects and soft-deleted containers are skipped, as are $logs and $web.
//
// Reads are short read transactions of BATCH entries; each action is its own write transaction
// (the data plane's), so a run never holds the write lock for long. A base-blob delete carries
// If-Match on the ETag it was judged by, so a blob overwritten meanwhile is left alone.
import type { EntryRecord, MetaStore } from '../../../engine/meta/meta-store.js';
import { ServiceError } from '../../../platform/errors.js';
import type { DeleteOptions } from '../blobs.js';
import type { AccessTier, BlobRef, RehydratePriority, BlobSelector } from '../model.js';
import { blobAttrs, entryKind, type BlobAttrs } from '../records.js';
import { tierOf } from '../tiers.js';
import { parseTimeId } from '../time-ids.js';
import { containerInScope, decide, type Decision, type EvaluationClock, type ObjectFacts, type ObjectKind } from './rules.js';
import type { LifecycleActionName, StoredPolicy } from './policy.js';

const BATCH = 256;
const TICKS_PER_MS = 10_000n;

/** The data-plane operations a run uses (Blobs implements them). */
export interface LifecycleBlobOps {
  deleteBlob(ref: BlobRef, options: DeleteOptions, now: number): Promise<void>;
  setBlobTier(ref: BlobRef, options: { tier: AccessTier; priority: RehydratePriority; selector?: BlobSelector; leaseId?: string }, now: number): Promise<{ accepted: boolean }>;
}

export interface LifecycleActionRecord {
  container: string;
  blob: string;
  target: ObjectKind;
  /** The version id or snapshot time, for previous versions and snapshots. */
  id?: string;
  action: LifecycleActionName;
  rule: string;
  outcome: 'done' | 'failed';
  /** The service error code when the action failed (e.g. LeaseIdMissing, ConditionNotMet). */
  error?: string;
}

export interface LifecycleRunReport {
  account: string;
  /** The instant every condition was evaluated at (the run's `now`). */
  startedMs: number;
  policyLastModifiedMs: number;
  containersScanned: number;
  objectsScanned: number;
  counts: Record<LifecycleActionName, number> & { failed: number };
  /** Actions done or failed, in run order, at most `actionsMax`. */
  actions: LifecycleActionRecord[];
  actionsTruncated: boolean;
}

export interface RunOptions {
  actionsMax: number;
}

export async function runPolicy(
  deps: { meta: MetaStore; blobs: LifecycleBlobOps }, account: string, stored: StoredPolicy, now: number, options: RunOptions,
): Promise<LifecycleRunReport> {
  const report: LifecycleRunReport = {
    account, startedMs: now, policyLastModifiedMs: stored.lastModifiedMs, containersScanned: 0, objectsScanned: 0,
    counts: { tierToCool: 0, tierToCold: 0, tierToArchive: 0, delete: 0, failed: 0 }, actions: [], actionsTruncated: false,
  };
  const clock: EvaluationClock = { now, accessTrackingSinceMs: stored.accessTrackingSinceMs };
  const run = new NameRun(deps.blobs, stored, clock, report, options);
  for (const container of await liveContainers(deps.meta, account)) {
    if (!containerInScope(stored.policy, container.name)) continue;
    report.containersScanned += 1;
    let group: EntryRecord[] = [];
    for await (const entry of entriesOf(deps.meta, container.bucketId)) {
      if (group.length > 0 && group[0]?.name !== entry.name) {
        await run.process({ account, container: container.name, blob: group[0]?.name ?? '' }, group);
        group = [];
      }
      group.push(entry);
    }
    if (group.length > 0) await run.process({ account, container: container.name, blob: group[0]?.name ?? '' }, group);
  }
  return report;
}

/** Decides and applies for one blob name at a time (its snapshots, versions, then current). */
class NameRun {
  constructor(
    private readonly blobs: LifecycleBlobOps,
    private readonly stored: StoredPolicy,
    private readonly clock: EvaluationClock,
    private readonly report: LifecycleRunReport,
    private readonly options: RunOptions,
  ) {}

  async process(ref: BlobRef, entries: readonly EntryRecord[]): Promise<void> {
    let liveHistory = 0;
    let current: EntryRecord | undefined;
    for (const entry of entries) {
      const kind = entryKind(entry);
      if (kind === 'deleted-base' || blobAttrs(entry.attrs).deleted) continue;
      if (kind === 'current') {
        current = entry;
        continue;
      }
      this.report.objectsScanned += 1;
      liveHistory += 1;
      const done = await this.#act(ref, entry, kind);
      if (done === 'delete') liveHistory -= 1;
    }
    if (!current) return;
    this.report.objectsScanned += 1;
    await this.#act(ref, current, 'base', liveHistory > 0);
  }

  /** Returns the action when it was applied. */
  async #act(ref: BlobRef, entry: EntryRecord, kind: 'version' | 'snapshot' | 'base', historyRemains = false): Promise<LifecycleActionName | undefined> {
    const attrs = blobAttrs(entry.attrs);
    const decision = decide(this.stored.policy, factsOf(ref, entry, attrs, kind, this.clock.now), this.clock);
    if (!decision || (decision.action === 'delete' && historyRemains)) return undefined;
    const id = kind === 'version' ? attrs.versionId : kind === 'snapshot' ? attrs.snapshot : undefined;
    const selector: BlobSelector | undefined = kind === 'version' ? { versionId: id } : kind === 'snapshot' ? { snapshot: id } : undefined;
    try {
      await this.#apply(ref, decision, selector, attrs);
      this.#record({ container: ref.container, blob: ref.blob, target: kind, id, action: decision.action, rule: decision.rule, outcome: 'done' });
      this.report.counts[decision.action] += 1;
      return decision.action;
    } catch (error) {
      // A data-plane refusal (lease held, blob changed since it was judged) is reported, not fatal.
      if (!(error instanceof ServiceError)) throw error;
      this.#record({ container: ref.container, blob: ref.blob, target: kind, id, action: decision.action, rule: decision.rule, outcome: 'failed', error: error.code });
      this.report.counts.failed += 1;
      return undefined;
    }
  }

  async #apply(ref: BlobRef, decision: Decision, selector: BlobSelector | undefined, attrs: BlobAttrs): Promise<void> {
    const now = this.clock.now;
    if (decision.action !== 'delete' && decision.tier) {
      await this.blobs.setBlobTier(ref, { tier: decision.tier, priority: 'Standard', selector }, now);
    } else {
      const conditions = selector ? {} : { ifMatch: attrs.etag };
      await this.blobs.deleteBlob(ref, { conditions, selector }, now);
    }
  }

  #record(action: LifecycleActionRecord): void {
    // No undefined fields: the report is stored as JSON and must read back equal.
    if (action.id === undefined) delete action.id;
    if (this.report.actions.length < this.options.actionsMax) this.report.actions.push(action);
    else this.report.actionsTruncated = true;
  }
}

function factsOf(ref: BlobRef, entry: EntryRecord, attrs: BlobAttrs, kind: ObjectKind, now: number): ObjectFacts {
  const tier = tierOf(attrs, now);
  const idTime = kind === 'version' ? attrs.versionId : kind === 'snapshot' ? attrs.snapshot : undefined;
  return {
    container: ref.container,
    name: entry.name,
    kind,
    blobType: attrs.blobType,
    tags: tagsOf(attrs),
    lastModifiedMs: attrs.lastModifiedMs,
    createdMs: idTime === undefined ? attrs.createdMs : msOfTimeId(idTime) ?? attrs.createdMs,
    tier: tier.tier,
    offline: tier.tier === 'Archive',
    tierChangedMs: tier.changedMs,
  };
}

/**
 * Blob index tags, for blobIndexMatch. Nimbus does not store tags yet; when Set Blob Tags lands it is
 * expected to keep them as `attrs.tags: Record<string, string>` (until then no blob has tags, so a
 * rule with blobIndexMatch matches nothing — which is what Azure does for untagged blobs).
 */
function tagsOf(attrs: BlobAttrs): Readonly<Record<string, string>> {
  const tags = (attrs as BlobAttrs & { tags?: unknown }).tags;
  if (typeof tags !== 'object' || tags === null) return {};
  return Object.fromEntries(Object.entries(tags).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function msOfTimeId(id: string): number | undefined {
  const ticks = parseTimeId(id);
  return ticks === undefined ? undefined : Number(ticks / TICKS_PER_MS);
}

async function liveContainers(meta: MetaStore, account: string): Promise<Array<{ bucketId: number; name: string }>> {
  const out: Array<{ bucketId: number; name: string }> = [];
  let afterName: string | undefined;
  for (;;) {
    const page = await meta.read((tx) => tx.listBuckets(account, { afterName, deleted: false, limit: 500 }));
    out.push(...page.map((b) => ({ bucketId: b.bucketId, name: b.name })));
    if (page.length < 500) return out;
    afterName = page[page.length - 1]?.name;
  }
}

async function* entriesOf(meta: MetaStore, bucketId: number): AsyncGenerator<EntryRecord> {
  let after: { name: string; sub: string } | undefined;
  for (;;) {
    const rows = await meta.read((tx) => tx.listEntries(bucketId, { after, limit: BATCH }));
    yield* rows;
    const last = rows[rows.length - 1];
    if (rows.length < BATCH || !last) return;
    after = { name: last.name, sub: last.sub };
  }
}
