// ComputeDefinitions: the persisted part of compute (availability sets and VM records) and its
// in-memory copy, which every read is answered from.
//
// Stored like the management plane's state (src/accounts/state.ts): ONE document in the MetaStore
// settings table, scope '$compute' (no account name starts with '$'), key 'definitions':
//
//   { "formatVersion": 1, "availabilitySets": { "<key>": AvailabilitySetRecord }, "vms": { "<key>": VmRecord } }
//
// A development cloud holds tens of VMs, so rewriting a few KiB per change beats a second index.
// Without a MetaStore (tests, or a throwaway server) the same class keeps state in memory only.
//
// What survives a restart: definitions, placement (UD/FD/host) and allocation. What cannot: the
// hosting processes themselves (QEMU or the workload dies with, or is orphaned by, the server),
// so `open()` turns every VM that was starting/running/stopping into `stopped` (still allocated)
// with stopReason 'server-restart'; starting it again boots it fresh.
//
// Invariant: mutations run one at a time (a promise chain); the in-memory copy is replaced only
// after the write transaction is durable.
import type { Json, MetaStore } from '../../engine/meta/meta-store.js';
import type { AvailabilitySetRecord, VmRecord } from './model.js';

const SCOPE = '$compute';
const KEY = 'definitions';
const FORMAT_VERSION = 1;

export interface DefinitionsSnapshot {
  readonly availabilitySets: ReadonlyMap<string, AvailabilitySetRecord>;
  readonly vms: ReadonlyMap<string, VmRecord>;
}

export interface DefinitionsDraft {
  availabilitySets: Map<string, AvailabilitySetRecord>;
  vms: Map<string, VmRecord>;
}

interface Stored {
  formatVersion: number;
  availabilitySets: Record<string, AvailabilitySetRecord>;
  vms: Record<string, VmRecord>;
}

export class ComputeDefinitions {
  #current: DefinitionsSnapshot;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly meta: MetaStore | null, initial: DefinitionsSnapshot) {
    this.#current = initial;
  }

  static async open(meta: MetaStore | null): Promise<ComputeDefinitions> {
    const stored = meta ? await meta.read((tx) => tx.getSetting(SCOPE, KEY)) : undefined;
    return new ComputeDefinitions(meta, decode(stored));
  }

  get current(): DefinitionsSnapshot {
    return this.#current;
  }

  /** Applies `change` to a copy, persists it, then makes it current. If `change` throws, nothing is kept. */
  mutate<T>(change: (draft: DefinitionsDraft) => T): Promise<T> {
    const run = async (): Promise<T> => {
      const draft: DefinitionsDraft = { availabilitySets: new Map(this.#current.availabilitySets), vms: new Map(this.#current.vms) };
      const result = change(draft);
      if (this.meta) await this.meta.write((tx) => tx.putSetting(SCOPE, KEY, encode(draft)));
      this.#current = draft;
      return result;
    };
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

function encode(draft: DefinitionsDraft): Json {
  const stored: Stored = {
    formatVersion: FORMAT_VERSION,
    availabilitySets: Object.fromEntries(draft.availabilitySets),
    vms: Object.fromEntries(draft.vms),
  };
  return stored as unknown as Json;
}

function decode(value: Json | undefined): DefinitionsSnapshot {
  if (value === undefined || value === null) return { availabilitySets: new Map(), vms: new Map() };
  const stored = value as unknown as Stored;
  if (stored.formatVersion !== FORMAT_VERSION) throw new Error(`compute definitions: unknown formatVersion ${stored.formatVersion}`);
  const vms = new Map<string, VmRecord>();
  for (const [key, vm] of Object.entries(stored.vms)) vms.set(key, afterRestart(vm));
  return { availabilitySets: new Map(Object.entries(stored.availabilitySets)), vms };
}

/** A VM whose hosting process could not outlive the previous server process. */
function afterRestart(vm: VmRecord): VmRecord {
  if (vm.powerState === 'stopped' || vm.powerState === 'deallocated') return vm;
  if (vm.powerState === 'deallocating') return { ...vm, powerState: 'deallocated', host: null };
  return { ...vm, powerState: 'stopped', stopReason: 'server-restart' };
}
