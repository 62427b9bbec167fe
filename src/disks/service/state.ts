// DiskState: the persisted records of managed disks and snapshots, and their in-memory copy, which
// every read is answered from. One document in the MetaStore settings table, scope '$disks' (no
// storage account name starts with '$'), key 'state' — the same shape as src/accounts/state.ts, for
// the same reason: a development cloud has tens or hundreds of disks, not millions.
//
//   { "formatVersion": 1, "regionKeys": { "<region>": "<base64 key>" },
//     "disks": { "<sub>/<rg>/<name> lower": DiskRecord }, "snapshots": { …: SnapshotRecord },
//     "bases": { "<region>/<family id>": CopyBase } }      what each CopyStart target blob holds now
//
// Invariants:
// - Mutations run one at a time (a promise chain). A mutation first does its data work through the
//   blob service (its own transactions), then the records commit in one write. So a record never
//   points at data that does not exist yet; a crash between the two leaves at worst an unreferenced
//   blob in an internal container (harmless, not yet swept).
// - The in-memory copy is replaced only after the write is durable.
import type { Json, MetaStore } from '../../engine/meta/meta-store.js';
import type { CopyBase, DiskRecord, SnapshotRecord } from './model.js';

const SCOPE = '$disks';
const KEY = 'state';
const FORMAT_VERSION = 1;

export interface DiskSnapshotState {
  regionKeys: Map<string, string>;
  disks: Map<string, DiskRecord>;
  snapshots: Map<string, SnapshotRecord>;
  bases: Map<string, CopyBase>;
}

interface StoredState {
  formatVersion: number;
  regionKeys: Record<string, string>;
  disks: Record<string, DiskRecord>;
  snapshots: Record<string, SnapshotRecord>;
  bases: Record<string, CopyBase>;
}

export function resourceKey(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${subscriptionId}/${resourceGroup}/${name}`.toLowerCase();
}

export class DiskState {
  #current: DiskSnapshotState;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly meta: MetaStore,
    initial: DiskSnapshotState,
  ) {
    this.#current = initial;
  }

  static async open(meta: MetaStore): Promise<DiskState> {
    return new DiskState(meta, decode(await meta.read((tx) => tx.getSetting(SCOPE, KEY))));
  }

  get current(): DiskSnapshotState {
    return this.#current;
  }

  /** Runs `change` on a copy of the state (it may call the blob service), then persists the copy. */
  mutate<T>(change: (draft: DiskSnapshotState) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const draft = copyOf(this.#current);
      const result = await change(draft);
      await this.meta.write((tx) => tx.putSetting(SCOPE, KEY, encode(draft)));
      this.#current = draft;
      return result;
    };
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

function copyOf(state: DiskSnapshotState): DiskSnapshotState {
  return { regionKeys: new Map(state.regionKeys), disks: new Map(state.disks), snapshots: new Map(state.snapshots), bases: new Map(state.bases) };
}

function decode(stored: Json | undefined): DiskSnapshotState {
  if (stored === undefined || stored === null) return { regionKeys: new Map(), disks: new Map(), snapshots: new Map(), bases: new Map() };
  const state = stored as unknown as StoredState;
  if (state.formatVersion !== FORMAT_VERSION) {
    throw new Error(`disk state: unknown format version ${String(state.formatVersion)} (this Nimbus reads ${FORMAT_VERSION})`);
  }
  return {
    regionKeys: new Map(Object.entries(state.regionKeys)),
    disks: new Map(Object.entries(state.disks)),
    snapshots: new Map(Object.entries(state.snapshots)),
    bases: new Map(Object.entries(state.bases)),
  };
}

function encode(state: DiskSnapshotState): Json {
  const stored: StoredState = {
    formatVersion: FORMAT_VERSION,
    regionKeys: Object.fromEntries(state.regionKeys),
    disks: Object.fromEntries(state.disks),
    snapshots: Object.fromEntries(state.snapshots),
    bases: Object.fromEntries(state.bases),
  };
  return stored as unknown as Json;
}
