// Regions: the configured list (config `regions`), each with its own storage for disks and
// snapshots, so a region's data is separable (and a cross-region copy really moves bytes).
//
// A region's storage is one internal account, `md-<region>` (the hyphen is what Azure's own managed
// disk accounts have, `md-gpvmcxzlzxgd`, and what no ARM-created account can have). Its key is made
// once and kept in the disk state, so SAS URLs survive restarts; the account is registered with the
// data plane's AccountRegistry so the blob endpoint serves it, and Microsoft.Storage never lists it.
import type { AccountRegistry } from '../../blob/service/accounts.js';
import { randomHex } from '../../platform/ids.js';
import { fail } from './errors.js';
import type { RegionSetting } from './model.js';
import type { DiskState } from './state.js';

export interface Region extends RegionSetting {
  /** The internal storage account of this region. */
  account: string;
  key: string;
}

export class Regions {
  readonly #byName: ReadonlyMap<string, Region>;

  private constructor(regions: readonly Region[]) {
    this.#byName = new Map(regions.map((r) => [r.name.toLowerCase(), r]));
  }

  /** Loads (or makes, once) each region's key and registers its account with the blob endpoint. */
  static async open(settings: readonly RegionSetting[], state: DiskState, registry: AccountRegistry): Promise<Regions> {
    const missing = settings.filter((r) => !state.current.regionKeys.has(r.name.toLowerCase()));
    if (missing.length > 0) {
      await state.mutate(async (draft) => {
        for (const r of missing) draft.regionKeys.set(r.name.toLowerCase(), Buffer.from(randomHex(64), 'hex').toString('base64'));
      });
    }
    const regions = settings.map((r): Region => ({
      name: r.name, zones: r.zones, account: regionAccount(r.name), key: state.current.regionKeys.get(r.name.toLowerCase()) ?? '',
    }));
    for (const region of regions) registry.put({ name: region.account, keys: [region.key] });
    return new Regions(regions);
  }

  list(): Region[] {
    return [...this.#byName.values()];
  }

  find(name: string): Region | undefined {
    return this.#byName.get(name.toLowerCase().replace(/\s+/g, ''));
  }

  /** The region a request names ("West US" and "westus" are the same, as in ARM); unknown → 400. */
  get(name: string, type: string): Region {
    const region = this.find(name);
    if (!region) fail('LocationNotAvailableForResourceType', { location: name, type, locations: this.list().map((r) => r.name).join(', ') });
    return region;
  }

  byAccount(account: string): Region | undefined {
    return this.list().find((r) => r.account === account);
  }
}

export function regionAccount(region: string): string {
  return `md-${region.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
}
