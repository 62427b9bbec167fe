// ManagementState: the persisted state of the management plane (resource groups and storage accounts
// created through ARM) and its in-memory copy, which every read is answered from.
//
// Stored as ONE document in the MetaStore settings table: scope '$accounts' (no storage account name
// can start with '$', so it never collides with an account's own settings), key 'state':
//
//   { "formatVersion": 1,
//     "resourceGroups":  { "<sub lower>/<rg lower>": ResourceGroupRecord, … },
//     "storageAccounts": { "<account name>": StorageAccountRecord, … } }
//
// One document because the settings API has no listing, and a development cloud has tens, not
// millions, of accounts; rewriting a few KiB per management call is cheaper than a second index.
//
// Invariants:
// - Mutations run one at a time (a promise chain), each inside one MetaStore write transaction that also
//   carries any data changes (dropping a deleted account's containers), so state and data commit together.
// - The in-memory copy is replaced, and `onCommit` listeners run, only after the transaction is durable
//   and before the next mutation starts, so listeners (the data plane's account registry) see changes
//   in commit order.
// - Built-in resources (the default resource group, devstoreaccount1, config accounts) are never stored.
import type { Json, MetaStore, MetaWriter } from '../engine/meta/meta-store.js';
import type { ResourceGroupRecord, StorageAccountRecord } from './model.js';

const SCOPE = '$accounts';
const KEY = 'state';
const FORMAT_VERSION = 1;

export interface StateSnapshot {
  /** Keyed by resourceGroupKey(sub, rg). */
  resourceGroups: Map<string, ResourceGroupRecord>;
  /** Keyed by account name (globally unique, already lower-case). */
  storageAccounts: Map<string, StorageAccountRecord>;
}

interface StoredState {
  formatVersion: number;
  resourceGroups: Record<string, ResourceGroupRecord>;
  storageAccounts: Record<string, StorageAccountRecord>;
}

export type CommitListener = (previous: StateSnapshot, next: StateSnapshot) => void;

export class ManagementState {
  #current: StateSnapshot;
  #tail: Promise<unknown> = Promise.resolve();
  readonly #listeners: CommitListener[] = [];

  private constructor(
    private readonly meta: MetaStore,
    initial: StateSnapshot,
  ) {
    this.#current = initial;
  }

  static async open(meta: MetaStore): Promise<ManagementState> {
    const stored = await meta.read((tx) => tx.getSetting(SCOPE, KEY));
    return new ManagementState(meta, decode(stored));
  }

  get current(): StateSnapshot {
    return this.#current;
  }

  /** Runs `listener` now against an empty previous state, then after every commit. */
  subscribe(listener: CommitListener): void {
    this.#listeners.push(listener);
    listener(emptySnapshot(), this.#current);
  }

  /**
   * Runs `change` on a copy of the state inside one write transaction, persists the copy, then makes it
   * current. `change` may also write data through `tx`; if it throws, nothing is kept.
   */
  mutate<T>(change: (draft: StateSnapshot, tx: MetaWriter) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const draft = copySnapshot(this.#current);
      const result = await this.meta.write(async (tx) => {
        const value = await change(draft, tx);
        await tx.putSetting(SCOPE, KEY, encode(draft));
        return value;
      });
      const previous = this.#current;
      this.#current = draft;
      for (const listener of this.#listeners) listener(previous, draft);
      return result;
    };
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

function emptySnapshot(): StateSnapshot {
  return { resourceGroups: new Map(), storageAccounts: new Map() };
}

function copySnapshot(state: StateSnapshot): StateSnapshot {
  return { resourceGroups: new Map(state.resourceGroups), storageAccounts: new Map(state.storageAccounts) };
}

function decode(stored: Json | undefined): StateSnapshot {
  if (stored === undefined || stored === null) return emptySnapshot();
  const state = stored as unknown as StoredState;
  if (state.formatVersion !== FORMAT_VERSION) {
    throw new Error(`management state: unknown format version ${String(state.formatVersion)} (this Nimbus reads ${FORMAT_VERSION})`);
  }
  return {
    resourceGroups: new Map(Object.entries(state.resourceGroups)),
    storageAccounts: new Map(Object.entries(state.storageAccounts)),
  };
}

function encode(state: StateSnapshot): Json {
  const stored: StoredState = {
    formatVersion: FORMAT_VERSION,
    resourceGroups: Object.fromEntries(state.resourceGroups),
    storageAccounts: Object.fromEntries(state.storageAccounts),
  };
  // Records are plain JSON data (strings, numbers, booleans, string maps, arrays of those).
  return stored as unknown as Json;
}
