// VmProfiles: what ARM records about a virtual machine that the compute model (VmRecord) does not
// hold: `storageProfile`, `osProfile` (without secrets) and `networkProfile`, echoed back on GET.
//
// Why here and not in the compute service: nothing in Nimbus acts on these profiles. The one part
// that is acted on, the OS disk id (`storageProfile.osDisk.managedDisk.id`), is also in VmRecord
// (`osDiskId`), which is what the compute service attaches; the profile keeps the body as sent.
//
// Stored like compute's definitions: ONE document in the MetaStore settings table, scope
// '$arm-compute', key 'vm-profiles': { formatVersion: 1, profiles: { "<sub/rg/name lower-case>": {...} } }.
// Without a MetaStore (a throwaway server) it is kept in memory only. Mutations run one at a time.
// Passwords and custom data never reach it: `osProfile` keeps computerName and adminUsername only.
import type { Json, MetaStore } from '../../engine/meta/meta-store.js';
import type { JsonObject } from '../context.js';

const SCOPE = '$arm-compute';
const KEY = 'vm-profiles';
const FORMAT_VERSION = 1;

export interface VmProfile {
  readonly storageProfile: JsonObject | null;
  readonly osProfile: { readonly computerName?: string; readonly adminUsername?: string } | null;
  readonly networkProfile: JsonObject | null;
}

interface Stored {
  formatVersion: number;
  profiles: Record<string, VmProfile>;
}

export class VmProfiles {
  #profiles: ReadonlyMap<string, VmProfile>;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly meta: MetaStore | null, initial: ReadonlyMap<string, VmProfile>) {
    this.#profiles = initial;
  }

  static async open(meta: MetaStore | null): Promise<VmProfiles> {
    const stored = meta ? ((await meta.read((tx) => tx.getSetting(SCOPE, KEY))) as unknown as Stored | undefined) : undefined;
    if (stored && stored.formatVersion !== FORMAT_VERSION) throw new Error(`arm vm profiles: unknown formatVersion ${stored.formatVersion}`);
    return new VmProfiles(meta, new Map(Object.entries(stored?.profiles ?? {})));
  }

  get(vmKey: string): VmProfile | undefined {
    return this.#profiles.get(vmKey);
  }

  set(vmKey: string, profile: VmProfile): Promise<void> {
    return this.#mutate((draft) => void draft.set(vmKey, profile));
  }

  delete(vmKey: string): Promise<void> {
    return this.#mutate((draft) => void draft.delete(vmKey));
  }

  #mutate(change: (draft: Map<string, VmProfile>) => void): Promise<void> {
    const run = async (): Promise<void> => {
      const draft = new Map(this.#profiles);
      change(draft);
      const stored: Stored = { formatVersion: FORMAT_VERSION, profiles: Object.fromEntries(draft) };
      if (this.meta) await this.meta.write((tx) => tx.putSetting(SCOPE, KEY, stored as unknown as Json));
      this.#profiles = draft;
    };
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}
