// Which lifecycle action, if any, a policy takes on one object at `now`: pure functions over the
// object's facts, so the executor only walks and applies.
// https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-policy-structure
//
//   object ──filters (AND: blobType, any prefix, all index tags)──▶ rule's action set for its kind
//          ──run conditions (age > N days on the injected clock)──▶ matched actions (all rules)
//          ──applicable? (tiering: block blobs only, only to a colder tier, never out of Archive)
//          ──cheapest wins: delete < tierToArchive < tierToCold < tierToCool──▶ decision
//
// Ages (Azure's rules): the current version by Last-Modified, creation time or last access; a previous
// version by the creation time of that version (its version id, not when it became previous); a
// snapshot by its snapshot time. Nimbus keeps no LastAccessTime: it is taken as the later of the
// blob's last write and the day the account got a policy (Azure uses the tracking-enabled date
// whenever LastAccessTime is null). `daysAfterLastTierChangeGreaterThan` counts from the last tier
// change, or creation for a blob whose tier never changed.
// Rejected: "the first rule that matches wins" — Azure applies the cheapest of all matching actions.
import type { AccessTier, BlobType } from '../model.js';
import type { BaseBlobCondition, LifecycleActionName, LifecycleRule, ManagementPolicy } from './policy.js';

const DAY_MS = 86_400_000;

/** Cheapest first: Azure applies the least expensive of the actions that match. */
const COST_ORDER: readonly LifecycleActionName[] = ['delete', 'tierToArchive', 'tierToCold', 'tierToCool'];
const TIER_OF_ACTION: Readonly<Record<Exclude<LifecycleActionName, 'delete'>, AccessTier>> = {
  tierToCool: 'Cool', tierToCold: 'Cold', tierToArchive: 'Archive',
};
const COLDNESS: Readonly<Record<AccessTier, number>> = { Hot: 0, Cool: 1, Cold: 2, Archive: 3 };
/** System containers lifecycle never touches. */
export const SYSTEM_CONTAINERS: ReadonlySet<string> = new Set(['$logs', '$web']);

export type ObjectKind = 'base' | 'version' | 'snapshot';

/** What a rule can see of one object (current blob, previous version or snapshot). */
export interface ObjectFacts {
  container: string;
  name: string;
  kind: ObjectKind;
  blobType: BlobType;
  tags: Readonly<Record<string, string>>;
  lastModifiedMs: number;
  /** Base: the blob's creation; version: its version id; snapshot: its snapshot time. */
  createdMs: number;
  tier: AccessTier;
  /** In Archive, or rehydrating out of it (still offline). */
  offline: boolean;
  tierChangedMs?: number;
}

export interface Decision {
  action: LifecycleActionName;
  rule: string;
  /** The tier a tiering action moves the object to. */
  tier?: AccessTier;
}

export interface EvaluationClock {
  now: number;
  /** Stand-in for LastAccessTime (see above). */
  accessTrackingSinceMs: number;
}

export function decide(policy: ManagementPolicy, object: ObjectFacts, clock: EvaluationClock): Decision | undefined {
  const matched: Decision[] = [];
  for (const rule of policy.rules) {
    if (!rule.enabled || !matchesFilters(rule, object)) continue;
    for (const action of COST_ORDER) {
      if (applicable(action, object) && conditionMet(rule, object, action, clock)) matched.push({ action, rule: rule.name, tier: tierOfAction(action) });
    }
  }
  return matched.sort((a, b) => COST_ORDER.indexOf(a.action) - COST_ORDER.indexOf(b.action))[0];
}

/** Whether any enabled rule could ever match objects in this container (skips whole containers). */
export function containerInScope(policy: ManagementPolicy, container: string): boolean {
  if (SYSTEM_CONTAINERS.has(container)) return false;
  return policy.rules.some((rule) => rule.enabled && (rule.definition.filters.prefixMatch ?? ['']).some((prefix) => {
    const cut = prefix.indexOf('/');
    return cut < 0 ? container.startsWith(prefix) : container === prefix.slice(0, cut);
  }));
}

export function isActive(policy: ManagementPolicy): boolean {
  return policy.rules.some((rule) => rule.enabled);
}

function matchesFilters(rule: LifecycleRule, object: ObjectFacts): boolean {
  const { blobTypes, prefixMatch, blobIndexMatch } = rule.definition.filters;
  const type = object.blobType === 'BlockBlob' ? 'blockBlob' : object.blobType === 'AppendBlob' ? 'appendBlob' : undefined;
  if (type === undefined || !blobTypes.includes(type)) return false;
  const path = `${object.container}/${object.name}`;
  if (prefixMatch && prefixMatch.length > 0 && !prefixMatch.some((prefix) => path.startsWith(prefix))) return false;
  return (blobIndexMatch ?? []).every((c) => object.tags[c.name] === c.value);
}

/** Tiering is for block blobs, only towards a colder tier, and never moves an offline blob. */
function applicable(action: LifecycleActionName, object: ObjectFacts): boolean {
  const target = tierOfAction(action);
  if (target === undefined) return true;
  return object.blobType === 'BlockBlob' && !object.offline && COLDNESS[target] > COLDNESS[object.tier];
}

function tierOfAction(action: LifecycleActionName): AccessTier | undefined {
  return action === 'delete' ? undefined : TIER_OF_ACTION[action];
}

function conditionMet(rule: LifecycleRule, object: ObjectFacts, action: LifecycleActionName, clock: EvaluationClock): boolean {
  const actions = rule.definition.actions;
  const older = (fromMs: number, days: number) => clock.now - fromMs > days * DAY_MS;
  if (object.kind !== 'base') {
    const condition = (object.kind === 'version' ? actions.version : actions.snapshot)?.[action];
    return condition !== undefined && older(object.createdMs, condition.daysAfterCreationGreaterThan);
  }
  const condition: BaseBlobCondition | undefined = actions.baseBlob?.[action];
  if (condition === undefined) return false;
  const lastAccessMs = Math.max(object.lastModifiedMs, clock.accessTrackingSinceMs);
  const checks: Array<[number | undefined, number]> = [
    [condition.daysAfterModificationGreaterThan, object.lastModifiedMs],
    [condition.daysAfterCreationGreaterThan, object.createdMs],
    [condition.daysAfterLastAccessTimeGreaterThan, lastAccessMs],
    [condition.daysAfterLastTierChangeGreaterThan, object.tierChangedMs ?? object.createdMs],
  ];
  return checks.every(([days, fromMs]) => days === undefined || older(fromMs, days));
}
