// CopyStart (spec/disks-snapshots.md §7): copy an incremental snapshot into another region, shipping
// only what changed since the last snapshot of the same family that was copied there.
//
//   source region (md-eastus)                      target region (md-westus)
//   d-<disk>/disk  S1 ── S2 ── S3                  f-<family>/base  T1 ── T2 ── T3   (blob snapshots)
//                   │     │     │                                    ▲     ▲     ▲
//                   └─────┼─────┼── all valid ranges ────────────────┘     │     │
//                         └─────┼── diff(S1, S2): written → Put Page From URL, cleared → Clear Pages
//                               └── diff(S2, S3) ───────────────────────────────────┘
//
// The target base blob always holds the content of one source snapshot (`bases` in the state says
// which); a copy applies the diff from that snapshot to the new one, then snapshots the base. So the
// bytes shipped are exactly the written bytes of the diffs — the same figure as the sum of the
// snapshots' stored sizes. If the base's source snapshot is gone (deleted since), or a copy failed
// half-way, the next copy falls back to a full resync (clear the base, ship all valid ranges).
//
// Rules kept from Azure: one copy in flight per family and target region; snapshots are copied in
// creation order (an older one after a newer one is refused); the target is usable only when
// completionPercent reaches 100 (provisioningState Updating until then). The copy runs in the
// background; progress (bytes shipped / bytes to ship) is kept in memory and shown by GET, and the
// shipped total is kept in the record (`nimbusBytesCopied`). A copy interrupted by a restart is
// started again from the base's recorded state (idempotent: it rewrites the same pages).
import { BlobError } from '../../blob/errors.js';
import type { PageRange } from '../../blob/service/api.js';
import type { Clock } from '../../platform/clock.js';
import { newGuid } from '../../platform/ids.js';
import {
  bytesIn, chunked, clearRange, copyRange, createPageBlob, deleteBlob, diffRanges, resizePageBlob, snapshotPageBlob, validRanges,
} from './blob-io.js';
import { checkSnapshotReady, resolveSource, type DiskServiceDeps, type ResourceAddress } from './context.js';
import { fail } from './errors.js';
import type { CopyBase, SnapshotRecord } from './model.js';
import type { Region } from './regions.js';
import { incrementalSku, type SnapshotSpec } from './snapshots.js';
import type { DiskSnapshotState } from './state.js';

export interface CopyOperation {
  status: 'InProgress' | 'Succeeded' | 'Failed';
  percentComplete: number;
  startMs: number;
  endMs?: number;
  error?: { code: string; message: string };
}

interface Plan {
  written: PageRange[];
  cleared: PageRange[];
  resizeTo?: number;
  create?: number;
}

export class CopyStarts {
  readonly #progress = new Map<string, { bytesCopied: number; bytesTotal: number }>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #operations = new Map<string, { key: string; startMs: number }>();

  constructor(
    private readonly deps: DiskServiceDeps,
    private readonly clock: Clock,
  ) {}

  /** Checks the request and makes the target record (running); `start` it once the record is committed. */
  begin(draft: DiskSnapshotState, at: ResourceAddress, spec: SnapshotSpec, region: Region, now: number): SnapshotRecord {
    if (!spec.incremental) fail('InvalidParameter', { target: 'incremental', detail: 'CopyStart copies incremental snapshots: set incremental to true.' });
    const source = resolveSource(draft, spec.creationData.sourceResourceId);
    if (source.kind !== 'snapshot' || !source.snapshot.incremental || source.snapshot.familyId === undefined) {
      fail('InvalidParameter', { target: 'creationData.sourceResourceId', detail: 'CopyStart needs an incremental snapshot as its source.' });
    }
    const from = source.snapshot;
    checkSnapshotReady(from);
    const familyId = from.familyId ?? '';
    const familyOrder = from.familyOrder ?? '';
    const inFamily = [...draft.snapshots.values()].filter((s) => s.familyId === familyId && s.location === region.name);
    if (inFamily.some((s) => s.copy?.state === 'running')) {
      fail('OperationNotAllowed', { detail: 'A copy of this snapshot family into this region is already in progress.' });
    }
    const base = draft.bases.get(baseKey(region.name, familyId));
    if (base !== undefined && base.familyOrder >= familyOrder) {
      fail('OperationNotAllowed', { detail: 'Incremental snapshots must be copied in the order they were created.' });
    }
    const previous = inFamily.filter((s) => s.copy?.state === 'succeeded').sort((a, b) => (a.familyOrder ?? '').localeCompare(b.familyOrder ?? '')).at(-1);
    return {
      ...at, location: region.name, tags: spec.tags ?? {}, skuName: incrementalSku(spec.skuName, previous, region), uniqueId: newGuid(), createdMs: now,
      creationData: { ...spec.creationData, sourceUniqueId: from.uniqueId }, sizeBytes: from.sizeBytes,
      data: { account: region.account, container: `f-${familyId}`, blob: 'base' }, access: null, extras: spec.extras,
      incremental: true, familyId, familyOrder, storedBytes: 0, copy: { state: 'running', bytesCopied: 0, bytesTotal: 0 },
    };
  }

  /** Starts the background copy of a committed running record; returns its async-operation id. */
  start(key: string): string {
    const operationId = newGuid();
    this.#operations.set(operationId, { key, startMs: this.clock.nowMs() });
    if (!this.#running.has(key)) {
      const run = this.#run(key).finally(() => {
        this.#running.delete(key);
        this.#progress.delete(key);
      });
      this.#running.set(key, run);
    }
    return operationId;
  }

  /** Restarts copies a previous process left running. */
  resume(): void {
    for (const [key, s] of this.deps.state.current.snapshots) if (s.copy?.state === 'running') this.start(key);
  }

  /** Waits for every copy in flight (tests, bench, shutdown). */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }

  progressOf(key: string, record: SnapshotRecord): { percent: number; bytesCopied: number } {
    const copy = record.copy;
    if (copy === undefined || copy.state === 'succeeded') return { percent: 100, bytesCopied: copy?.bytesCopied ?? 0 };
    const live = this.#progress.get(key) ?? { bytesCopied: copy.bytesCopied, bytesTotal: copy.state === 'running' ? copy.bytesTotal : 0 };
    const percent = live.bytesTotal === 0 ? 0 : Math.min(99, Math.floor((live.bytesCopied * 100) / live.bytesTotal));
    return { percent, bytesCopied: live.bytesCopied };
  }

  operation(operationId: string): CopyOperation | undefined {
    const op = this.#operations.get(operationId);
    if (!op) return undefined;
    const record = this.deps.state.current.snapshots.get(op.key);
    if (!record?.copy) return { status: 'Failed', percentComplete: 0, startMs: op.startMs, error: { code: 'CopySourceNotFound', message: 'The snapshot being copied was deleted.' } };
    const { percent } = this.progressOf(op.key, record);
    switch (record.copy.state) {
      case 'running': return { status: 'InProgress', percentComplete: percent, startMs: op.startMs };
      case 'succeeded': return { status: 'Succeeded', percentComplete: 100, startMs: op.startMs, endMs: this.clock.nowMs() };
      case 'failed': return { status: 'Failed', percentComplete: percent, startMs: op.startMs, endMs: this.clock.nowMs(), error: { code: record.copy.errorCode, message: record.copy.errorMessage } };
    }
  }

  async #run(key: string): Promise<void> {
    const target = this.deps.state.current.snapshots.get(key);
    if (!target?.familyId || !target.familyOrder) return;
    const bKey = baseKey(target.location, target.familyId);
    const base = this.deps.state.current.bases.get(bKey);
    const progress = { bytesCopied: 0, bytesTotal: 0 };
    this.#progress.set(key, progress);
    try {
      const source = sourceOf(this.deps.state.current, target);
      if (source?.kind !== 'snapshot' || source.snapshot.uniqueId !== target.creationData.sourceUniqueId) throw new CopySourceGone();
      const from = source.snapshot;
      const now = this.clock.nowMs();
      const plan = await this.#plan(from, base, now);
      progress.bytesTotal = bytesIn(plan.written);
      await this.#ship(target, from, plan, progress);
      const snapshot = await snapshotPageBlob(this.deps.api, target.data, this.clock.nowMs());
      const nextBase: CopyBase = { data: target.data, source: from.data, familyOrder: target.familyOrder, sizeBytes: from.sizeBytes };
      await this.deps.state.mutate(async (draft) => {
        draft.bases.set(bKey, nextBase);
        const current = draft.snapshots.get(key);
        if (current?.uniqueId !== target.uniqueId) {
          await deleteBlob(this.deps.api, { ...target.data, snapshot }, this.clock.nowMs());
          return;
        }
        draft.snapshots.set(key, {
          ...current, data: { ...current.data, snapshot }, storedBytes: progress.bytesTotal, copy: { state: 'succeeded', bytesCopied: progress.bytesCopied },
        });
      });
    } catch (error) {
      await this.#failed(key, target, bKey, base, progress.bytesCopied, error);
    }
  }

  /** What to ship: the diff from the snapshot the base holds, or everything (first copy, resync). */
  async #plan(from: SnapshotRecord, base: CopyBase | undefined, now: number): Promise<Plan> {
    const { api } = this.deps;
    if (base === undefined) return { written: await validRanges(api, from.data, now), cleared: [], create: from.sizeBytes };
    const resizeTo = base.sizeBytes === from.sizeBytes ? undefined : from.sizeBytes;
    const older = base.source.snapshot;
    if (!base.dirty && older !== undefined && base.source.container === from.data.container && base.source.account === from.data.account) {
      try {
        const diff = await diffRanges(api, from.data, older, now);
        return { written: diff.written, cleared: diff.cleared, resizeTo };
      } catch (error) {
        if (!(error instanceof BlobError)) throw error;
      }
    }
    const everything = [{ start: 0, end: Math.min(base.sizeBytes, from.sizeBytes) }].filter((r) => r.end > r.start);
    return { written: await validRanges(api, from.data, now), cleared: everything, resizeTo };
  }

  async #ship(target: SnapshotRecord, from: SnapshotRecord, plan: Plan, progress: { bytesCopied: number }): Promise<void> {
    const { api, blobBase } = this.deps;
    if (plan.create !== undefined) await createPageBlob(api, target.data, plan.create, this.clock.nowMs());
    if (plan.resizeTo !== undefined) await resizePageBlob(api, target.data, plan.resizeTo, this.clock.nowMs());
    for (const range of plan.cleared) await clearRange(api, target.data, range, this.clock.nowMs());
    for (const chunk of chunked(plan.written)) {
      try {
        await copyRange(api, target.data, from.data, chunk, blobBase, this.clock.nowMs());
      } catch (error) {
        if (error instanceof BlobError && error.code === 'CannotVerifyCopySource') throw new CopySourceGone();
        throw error;
      }
      progress.bytesCopied += chunk.end - chunk.start;
    }
  }

  async #failed(key: string, target: SnapshotRecord, bKey: string, base: CopyBase | undefined, bytesCopied: number, error: unknown): Promise<void> {
    const gone = error instanceof CopySourceGone;
    if (!gone) this.deps.logger.log('error', 'disk-copy-failed', { snapshot: key, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    await this.deps.state.mutate(async (draft) => {
      // The base may now hold part of this copy: the next one resyncs it fully.
      if (base !== undefined) draft.bases.set(bKey, { ...base, dirty: true });
      const current = draft.snapshots.get(key);
      if (current?.uniqueId !== target.uniqueId) return;
      const [errorCode, errorMessage] = gone
        ? ['CopySourceNotFound', 'The source snapshot was deleted while it was being copied.']
        : ['InternalError', 'The copy failed; see the server log.'];
      draft.snapshots.set(key, { ...current, copy: { state: 'failed', bytesCopied, errorCode, errorMessage } });
    });
  }
}

class CopySourceGone extends Error {}

function sourceOf(state: DiskSnapshotState, target: SnapshotRecord): ReturnType<typeof resolveSource> | undefined {
  try {
    return resolveSource(state, target.creationData.sourceResourceId);
  } catch {
    return undefined;
  }
}

function baseKey(region: string, familyId: string): string {
  return `${region.toLowerCase()}/${familyId}`;
}
