// Azure's capacity billing for one blob name: its current version (or soft-deleted base), previous
// versions and snapshots, together. Pure: footprints in, billed bytes per object and tier out.
// https://learn.microsoft.com/azure/storage/blobs/versioning-overview#pricing-and-billing
// https://learn.microsoft.com/azure/storage/blobs/snapshots-overview#pricing-and-billing
// (spec/versioning-softdelete.md §8)
//
// Each object is billed one of two ways:
//   full length  its whole content length, sharing nothing, when
//                  - its tier was set explicitly (Set Blob Tier, lifecycle, x-ms-access-tier on a write);
//                    irreversible: moving back to the original tier keeps it
//                  - the current version was explicitly moved to Archive (then every object is)
//                  - it is soft-deleted (blob soft delete bills soft-deleted entities at full length)
//                  - it is a previous version, blob soft delete is on, and a current version whose
//                    tier was set explicitly was overwritten or deleted (its tier was set before it
//                    stopped being current)
//   shared       the rest: unique blocks/pages across them, oldest first (each block's bytes are
//                counted by the first object that has it). When any object of the name was tiered
//                explicitly, the oldest shared object is billed at its full length (Azure: "the
//                oldest version in the original tier"), the others by the blocks it does not have.
//
// Objects are billed in their tier: explicit ones in the tier they are in, the others in the
// inferred (account default) tier.
// Rejected: one unique-block pool over all objects with a per-tier split — Azure says an explicitly
// tiered object is billed whole "regardless of whether it shares blocks with an object in the
// original tier", so explicit objects never join the pool.
import type { AccessTier } from '../model.js';
import { Units, type Footprint } from './footprint.js';

export type BilledKind = 'current' | 'deleted-base' | 'version' | 'snapshot';
export type Basis = 'unique-blocks' | 'full-length';

export interface FamilyObject {
  kind: BilledKind;
  /** Version id or snapshot time; undefined for the current blob. */
  id?: string;
  /** When the object was created (version id / snapshot time / current version's write). */
  createdMs: number;
  tier: AccessTier;
  explicitTier: boolean;
  tierChangedMs?: number;
  softDeleted: boolean;
  footprint: Footprint;
}

export interface BilledObject {
  kind: BilledKind;
  id?: string;
  tier: AccessTier;
  basis: Basis;
  billedBytes: number;
}

export interface FamilyContext {
  softDeleteEnabled: boolean;
}

export function billFamily(objects: readonly FamilyObject[], context: FamilyContext): BilledObject[] {
  const ordered = [...objects].sort((a, b) => orderKey(a) - orderKey(b));
  const current = ordered.find((o) => o.kind === 'current');
  const archivedCurrent = current !== undefined && current.explicitTier && current.tier === 'Archive';
  const overwrittenExplicit = context.softDeleteEnabled && explicitTierOutlivedCurrency(ordered);
  const anyExplicit = ordered.some((o) => o.explicitTier);
  const fullLength = (o: FamilyObject) =>
    o.explicitTier || o.softDeleted || archivedCurrent || (overwrittenExplicit && o.kind === 'version');
  const seen = new Units();
  let oldestShared = anyExplicit;
  return ordered.map((o): BilledObject => {
    const base = { kind: o.kind, id: o.id, tier: o.tier };
    if (fullLength(o)) return { ...base, basis: 'full-length', billedBytes: o.footprint.fullLengthBytes };
    const added = seen.addAll(o.footprint.units);
    if (oldestShared) {
      oldestShared = false;
      return { ...base, basis: 'full-length', billedBytes: o.footprint.fullLengthBytes };
    }
    return { ...base, basis: 'unique-blocks', billedBytes: added };
  });
}

/** Oldest first; the current blob (or soft-deleted base) last. */
function orderKey(o: FamilyObject): number {
  return o.kind === 'current' || o.kind === 'deleted-base' ? Number.MAX_SAFE_INTEGER : o.createdMs;
}

/**
 * Whether some previous version had its tier set explicitly while it was still the current version:
 * before the next version (or the current blob) was created. A version with no successor was
 * deleted while current; its tier was necessarily set before that.
 */
function explicitTierOutlivedCurrency(ordered: readonly FamilyObject[]): boolean {
  const versions = ordered.filter((o) => o.kind === 'version' || o.kind === 'current');
  return versions.some((o, i) => {
    if (o.kind !== 'version' || !o.explicitTier) return false;
    const successor = versions[i + 1];
    return successor === undefined || (o.tierChangedMs ?? 0) < successor.createdMs;
  });
}
