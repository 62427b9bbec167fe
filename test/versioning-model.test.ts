// Model test of versioning, snapshots and blob soft delete: random sequences of put / set metadata /
// delete / delete version / delete snapshot / snapshot / undelete / copy a version onto the blob /
// flip versioning / flip soft delete / move the clock + purge, run against the blob service
// in-process (srv.nimbus.api) and against a small in-memory model of the rules written from
// spec/versioning-softdelete.md §2–§5 and the choices in src/blob/service/history.ts.
//
// After every step the full listing (include=versions,snapshots,deleted,metadata) must equal the
// model row for row: name, snapshot or version id, IsCurrentVersion, Deleted, content (by MD5),
// metadata; every live row's bytes are read back (the GC run by the purge must not drop them);
// every operation the model says must fail fails with the model's error code.
//
// Ids: the model knows the ids the service returns (x-ms-version-id, x-ms-snapshot). Ids the
// service makes on its own (an unversioned blob kept as a version, the soft-deleted snapshot an
// overwrite keeps) are learned from the first listing that shows them; since every new id is the
// newest of its kind for the name, the row that must carry it is known by position.
//
// Replay: the seed is logged; VERSIONING_SEED=<n> replays it (VERSIONING_RUNS overrides the run count).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import fc from 'fast-check';
import { startTestServer, type TestServer } from './helpers/server.js';
import { ServiceError } from '../src/platform/errors.js';
import { days } from '../src/platform/clock.js';
import type { BlobView, Metadata } from '../src/blob/service/model.js';

const SEED = Number(process.env.VERSIONING_SEED ?? randomInt(2 ** 31 - 1));
const RUNS = Number(process.env.VERSIONING_RUNS ?? 200);
const ACCOUNT = 'devstoreaccount1';
const NAMES = ['a', 'dir/b'] as const;

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

type Op =
  | { op: 'put'; name: number; withMetadata: boolean }
  | { op: 'metadata'; name: number }
  | { op: 'delete'; name: number; snapshots: 'include' | 'only' | 'none' }
  | { op: 'deleteVersion'; name: number; pick: number }
  | { op: 'deleteSnapshot'; name: number; pick: number }
  | { op: 'snapshot'; name: number }
  | { op: 'undelete'; name: number }
  | { op: 'copyVersion'; name: number; pick: number }
  | { op: 'versioning' }
  | { op: 'softDelete'; retentionDays: number }
  | { op: 'clock'; ms: number };

const name = fc.nat(NAMES.length - 1);
const pick = fc.nat(20);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('put' as const), name, withMetadata: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('metadata' as const), name }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), name, snapshots: fc.constantFrom('include' as const, 'only' as const, 'none' as const) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('deleteVersion' as const), name, pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('deleteSnapshot' as const), name, pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('snapshot' as const), name }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('undelete' as const), name }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('copyVersion' as const), name, pick }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('versioning' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('softDelete' as const), retentionDays: fc.integer({ min: 1, max: 3 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('clock' as const),
      // Same tick, a tick later, seconds, whole days (expiry), and an hour back (ids must not care).
      ms: fc.constantFrom(0, 1, 1000, days(1), days(1) - 1, days(2), -3_600_000),
    }),
  },
);

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

interface Item {
  /** Snapshot time or version id; undefined until the service's id is learned from a listing. */
  id: string | undefined;
  content: string;
  metadata: Metadata;
  /** Soft-deleted until this time. */
  expiresMs?: number;
}

interface Current {
  versionId: string | undefined;
  content: string;
  metadata: Metadata;
  expiresMs?: number;
}

interface NameState {
  snapshots: Item[];
  versions: Item[];
  current: Current | undefined;
}

interface ModelState {
  versioning: boolean;
  softDelete: { enabled: boolean; retentionDays: number };
  names: NameState[];
}

type Outcome = { error: string } | { ok: true };
const OK: Outcome = { ok: true };

const live = <T extends { expiresMs?: number }>(x: T | undefined): x is T => x !== undefined && x.expiresMs === undefined;

class Model {
  readonly state: ModelState = { versioning: false, softDelete: { enabled: false, retentionDays: 1 }, names: NAMES.map(() => ({ snapshots: [], versions: [], current: undefined })) };

  expiry(now: number): number | undefined {
    return this.state.softDelete.enabled ? now + days(this.state.softDelete.retentionDays) : undefined;
  }

  /** Soft-delete (retention on) or remove an item of a list. */
  dropItem(list: Item[], item: Item, now: number): void {
    const expiresMs = this.expiry(now);
    if (expiresMs === undefined) list.splice(list.indexOf(item), 1);
    else item.expiresMs = expiresMs;
  }

  /** history.ts writeCurrent: what an overwrite ('overwrite') or Set Metadata ('metadata') keeps. */
  write(n: NameState, next: { content: string; metadata: Metadata }, kind: 'overwrite' | 'metadata', returnedId: string | undefined, now: number): void {
    if (n.current && n.current.expiresMs !== undefined) {
      // A soft-deleted base in the way: same blob type → kept as a soft-deleted snapshot.
      n.snapshots.push({ id: undefined, content: n.current.content, metadata: n.current.metadata, expiresMs: n.current.expiresMs });
      n.current = undefined;
    }
    const cur = n.current;
    if (cur) {
      if (this.state.versioning || cur.versionId !== undefined) n.versions.push({ id: cur.versionId, content: cur.content, metadata: cur.metadata });
      else if (this.state.softDelete.enabled && kind === 'overwrite') {
        n.snapshots.push({ id: undefined, content: cur.content, metadata: cur.metadata, expiresMs: this.expiry(now) });
      }
    }
    n.current = { versionId: this.state.versioning ? returnedId : undefined, content: next.content, metadata: next.metadata };
  }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

interface Run {
  srv: TestServer;
  container: string;
  model: Model;
  contents: Map<string, string>;
  step: number;
}

const md5 = (text: string): string => createHash('md5').update(text).digest('base64');

function body(text: string) {
  const bytes = Buffer.from(text);
  return { stream: (async function* () { yield bytes; })(), lengthBytes: bytes.length };
}

async function attempt<T>(action: () => Promise<T>): Promise<{ value: T } | { error: string }> {
  try {
    return { value: await action() };
  } catch (error) {
    if (error instanceof ServiceError) return { error: error.code };
    throw error;
  }
}

function expectOutcome(label: string, got: { error: string } | { value: unknown }, want: Outcome): void {
  assert.deepEqual('error' in got ? { error: got.error } : OK, want, label);
}

/** Applies one operation to the service and the model; asserts they agree on success or error. */
async function apply(run: Run, op: Op): Promise<void> {
  const { srv, model } = run;
  const api = srv.nimbus.api;
  const now = srv.clock.nowMs();
  const label = `step ${run.step}: ${JSON.stringify(op)}`;
  if (op.op === 'versioning') {
    model.state.versioning = !model.state.versioning;
    await api.setDataProtection(ACCOUNT, { versioning: model.state.versioning });
    return;
  }
  if (op.op === 'softDelete') {
    const enabled = !model.state.softDelete.enabled;
    model.state.softDelete = { enabled, retentionDays: enabled ? op.retentionDays : model.state.softDelete.retentionDays };
    await api.setDataProtection(ACCOUNT, { deleteRetention: enabled ? { enabled, days: op.retentionDays } : { enabled } });
    return;
  }
  if (op.op === 'clock') {
    srv.clock.advance(op.ms);
    await srv.runDue();
    const t = srv.clock.nowMs();
    for (const n of model.state.names) {
      n.snapshots = n.snapshots.filter((s) => s.expiresMs === undefined || s.expiresMs > t);
      n.versions = n.versions.filter((v) => v.expiresMs === undefined || v.expiresMs > t);
      if (n.current?.expiresMs !== undefined && n.current.expiresMs <= t) n.current = undefined;
    }
    return;
  }
  const n = model.state.names[op.name] as NameState;
  const ref = { account: ACCOUNT, container: run.container, blob: NAMES[op.name] as string };
  const cur = live(n.current) ? n.current : undefined;
  switch (op.op) {
    case 'put': {
      const content = `c${run.step}`;
      run.contents.set(md5(content), content);
      const metadata: Metadata = op.withMetadata ? { put: String(run.step) } : {};
      const got = await attempt(() => api.putBlob(ref, { body: body(content), headers: {}, metadata, conditions: {} }, now));
      expectOutcome(label, got, OK);
      if ('value' in got) {
        checkNewId(label, n, got.value.versionId, model.state.versioning);
        model.write(n, { content, metadata }, 'overwrite', got.value.versionId, now);
      }
      return;
    }
    case 'metadata': {
      const metadata = { meta: String(run.step) };
      const got = await attempt(() => api.setBlobMetadata(ref, { metadata, conditions: {} }, now));
      expectOutcome(label, got, cur ? OK : { error: 'BlobNotFound' });
      if ('value' in got && cur) {
        checkNewId(label, n, got.value.versionId, model.state.versioning);
        model.write(n, { content: cur.content, metadata }, 'metadata', got.value.versionId, now);
      }
      return;
    }
    case 'copyVersion': {
      const candidates = [...n.versions, ...(n.current?.versionId !== undefined ? [{ ...n.current, id: n.current.versionId }] : [])];
      const source = candidates[op.pick % Math.max(1, candidates.length)];
      if (!source?.id) return;
      const copySource = { ref, selector: { versionId: source.id }, url: `http://nimbus/${ACCOUNT}/${run.container}/${ref.blob}?versionid=${source.id}`, conditions: {} };
      const got = await attempt(() => api.copyBlob(ref, copySource, { conditions: {} }, now));
      expectOutcome(label, got, live(source) ? OK : { error: 'CannotVerifyCopySource' });
      if ('value' in got) {
        checkNewId(label, n, got.value.versionId, model.state.versioning);
        model.write(n, { content: source.content, metadata: source.metadata }, 'overwrite', got.value.versionId, now);
      }
      return;
    }
    case 'delete': {
      const deleteSnapshots = op.snapshots === 'none' ? undefined : op.snapshots;
      const got = await attempt(() => api.deleteBlob(ref, { conditions: {}, deleteSnapshots }, now));
      const liveSnapshots = n.snapshots.filter((s) => live(s));
      const want: Outcome = !cur ? { error: 'BlobNotFound' } : liveSnapshots.length > 0 && !deleteSnapshots ? { error: 'SnapshotsPresent' } : OK;
      expectOutcome(label, got, want);
      if (!('value' in got) || !cur) return;
      for (const s of liveSnapshots) model.dropItem(n.snapshots, s, now);
      if (deleteSnapshots === 'only') return;
      if (model.state.versioning) {
        n.versions.push({ id: cur.versionId, content: cur.content, metadata: cur.metadata });
        n.current = undefined;
      } else if (model.state.softDelete.enabled) {
        cur.expiresMs = model.expiry(now);
      } else {
        n.current = undefined;
      }
      return;
    }
    case 'deleteVersion': {
      const currentId = cur?.versionId;
      const count = n.versions.length + (currentId !== undefined ? 1 : 0);
      if (count === 0) return;
      const index = op.pick % count;
      const version = n.versions[index];
      const id = version ? version.id : currentId;
      const got = await attempt(() => api.deleteBlob(ref, { conditions: {}, selector: { versionId: id } }, now));
      const want: Outcome = !version ? { error: 'OperationNotAllowedOnRootBlob' } : live(version) ? OK : { error: 'BlobNotFound' };
      expectOutcome(label, got, want);
      if ('value' in got && version) model.dropItem(n.versions, version, now);
      return;
    }
    case 'deleteSnapshot': {
      const snapshot = n.snapshots[op.pick % Math.max(1, n.snapshots.length)];
      if (!snapshot) return;
      const got = await attempt(() => api.deleteBlob(ref, { conditions: {}, selector: { snapshot: snapshot.id } }, now));
      expectOutcome(label, got, live(snapshot) ? OK : { error: 'BlobNotFound' });
      if ('value' in got) model.dropItem(n.snapshots, snapshot, now);
      return;
    }
    case 'snapshot': {
      const got = await attempt(() => api.snapshotBlob(ref, { conditions: {} }, now));
      expectOutcome(label, got, cur ? OK : { error: 'BlobNotFound' });
      if (!('value' in got) || !cur) return;
      const known = knownIds(n);
      assert.ok(known.every((k) => got.value.snapshot > k), `${label}: snapshot ${got.value.snapshot} is newer than ${known.join(', ')}`);
      n.snapshots.push({ id: got.value.snapshot, content: cur.content, metadata: cur.metadata });
      if (model.state.versioning) {
        assert.ok(got.value.versionId !== undefined && got.value.versionId > got.value.snapshot, `${label}: a version with the snapshot`);
        n.versions.push({ id: cur.versionId, content: cur.content, metadata: cur.metadata });
        cur.versionId = got.value.versionId;
      } else {
        assert.equal(got.value.versionId, undefined, label);
      }
      return;
    }
    case 'undelete': {
      const any = n.current !== undefined || n.versions.length > 0 || n.snapshots.length > 0;
      const got = await attempt(() => api.undeleteBlob(ref, now));
      expectOutcome(label, got, any ? OK : { error: 'BlobNotFound' });
      for (const item of [...n.snapshots, ...n.versions]) delete item.expiresMs;
      if (n.current) delete n.current.expiresMs;
      return;
    }
  }
}

function knownIds(n: NameState): string[] {
  return [...n.snapshots, ...n.versions].map((i) => i.id).concat(n.current?.versionId).filter((id): id is string => id !== undefined);
}

/** A returned version id: present exactly when versioning is on, and newer than every id the name has. */
function checkNewId(label: string, n: NameState, versionId: string | undefined, versioning: boolean): void {
  if (!versioning) {
    assert.equal(versionId, undefined, `${label}: no version id with versioning off`);
    return;
  }
  assert.match(versionId ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/, label);
  const known = knownIds(n);
  assert.ok(known.every((k) => (versionId as string) > k), `${label}: ${String(versionId)} is newer than ${known.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

interface ListedRow {
  name: string;
  snapshot?: string;
  versionId?: string;
  isCurrentVersion?: true;
  deleted?: true;
  content: string;
  metadata: Metadata;
}

function expectedRows(model: Model): { row: ListedRow; learn?: (id: string | undefined) => void }[] {
  const out: { row: ListedRow; learn?: (id: string | undefined) => void }[] = [];
  const nameOrder = NAMES.map((n, i) => [n, i] as const).sort(([a], [b]) => (a < b ? -1 : 1));
  for (const [name, i] of nameOrder) {
    const n = model.state.names[i] as NameState;
    const item = (kind: 'snapshot' | 'versionId', x: Item) => ({
      row: { name, [kind]: x.id, ...(x.expiresMs !== undefined ? { deleted: true as const } : {}), content: x.content, metadata: x.metadata },
      learn: x.id === undefined ? (id: string | undefined) => { x.id = id; } : undefined,
    });
    for (const s of n.snapshots) out.push(item('snapshot', s));
    for (const v of n.versions) out.push(item('versionId', v));
    const c = n.current;
    if (c) {
      const row: ListedRow = { name, content: c.content, metadata: c.metadata };
      if (c.versionId !== undefined) row.versionId = c.versionId;
      if (c.versionId !== undefined && c.expiresMs === undefined) row.isCurrentVersion = true;
      if (c.expiresMs !== undefined) row.deleted = true;
      out.push({ row });
    }
  }
  return out;
}

function listedRow(view: BlobView, contents: Map<string, string>): ListedRow {
  const row: ListedRow = { name: view.name, content: contents.get(view.headers.contentMd5 ?? '') ?? `?${String(view.headers.contentMd5)}`, metadata: view.metadata };
  if (view.snapshot !== undefined) row.snapshot = view.snapshot;
  if (view.versionId !== undefined) row.versionId = view.versionId;
  if (view.isCurrentVersion) row.isCurrentVersion = true;
  if (view.deleted) row.deleted = true;
  return row;
}

async function compare(run: Run, label: string): Promise<void> {
  const api = run.srv.nimbus.api;
  const now = run.srv.clock.nowMs();
  const include = { versions: true, snapshots: true, deleted: true, metadata: true };
  const listed = await api.listBlobs({ account: ACCOUNT, container: run.container }, { maxResults: 5000, include }, now);
  const actual = listed.blobs.map((b) => listedRow(b, run.contents));
  const expected = expectedRows(run.model);
  // Learn ids the service chose on its own, by position (see the header), then compare everything.
  if (actual.length === expected.length) {
    expected.forEach((e, i) => {
      const a = actual[i] as ListedRow;
      if (!e.learn) return;
      const id = 'snapshot' in e.row ? a.snapshot : a.versionId;
      e.learn(id);
      if ('snapshot' in e.row) e.row.snapshot = id;
      else e.row.versionId = id;
    });
  }
  assert.deepEqual(actual, expected.map((e) => e.row), `${label}: listing`);
  for (const row of actual.filter((r) => !r.deleted)) {
    const ref = { account: ACCOUNT, container: run.container, blob: row.name };
    const selector = row.snapshot !== undefined ? { snapshot: row.snapshot } : row.versionId !== undefined ? { versionId: row.versionId } : undefined;
    const got = await api.getBlob(ref, { conditions: {}, selector }, now);
    const bytes = got.buffered ?? Buffer.alloc(0);
    got.discard();
    assert.equal(bytes.toString(), row.content, `${label}: bytes of ${JSON.stringify(row)}`);
  }
}

test(`versioning, snapshots and soft delete match an in-memory model (VERSIONING_SEED=${SEED})`, async (t) => {
  console.log(`versioning-model: VERSIONING_SEED=${SEED} VERSIONING_RUNS=${RUNS}`);
  const srv = await startTestServer();
  t.after(() => srv.stop());
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      // Each run starts from nothing: a fresh container and every switch off.
      const container = `run${runs++}`;
      await srv.nimbus.api.setDataProtection(ACCOUNT, { versioning: false, deleteRetention: { enabled: false } });
      await srv.nimbus.api.createContainer({ account: ACCOUNT, container }, { metadata: {}, publicAccess: null }, srv.clock.nowMs());
      const run: Run = { srv, container, model: new Model(), contents: new Map(), step: 0 };
      for (const op of ops) {
        run.step++;
        await apply(run, op);
        await compare(run, `step ${run.step}: ${JSON.stringify(op)}`);
      }
    }),
    { seed: SEED, numRuns: RUNS, endOnFailure: false },
  );
});
