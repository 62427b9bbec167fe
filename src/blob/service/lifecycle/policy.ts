// Lifecycle management policy: the JSON document of `storageAccounts/{a}/managementPolicies/default`,
// parsed and validated once here, stored per account in the metadata settings.
// https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-policy-structure
// (spec/versioning-softdelete.md §7)
//
//   properties { policy { rules: [ { name, enabled?, type: 'Lifecycle',
//                                    definition { filters { blobTypes, prefixMatch?, blobIndexMatch? },
//                                                 actions { baseBlob?, snapshot?, version? } } } ] } }
//
// Validation follows the documented limits: 1–100 rules; names 1–256 characters, unique
// (case-sensitive); type 'Lifecycle'; blobTypes required (blockBlob, appendBlob); ≤ 10 prefixes and
// ≤ 10 blob index conditions; at least one action per rule; run conditions are non-negative integers,
// one age condition per action; `daysAfterLastTierChangeGreaterThan` only on tierToArchive with
// `daysAfterModificationGreaterThan`; snapshots and versions age by `daysAfterCreationGreaterThan` only;
// `enableAutoTierToHotFromCool` only beside a `daysAfterLastAccessTimeGreaterThan` condition.
// Unknown action or condition names are refused (a typo would otherwise silently never run).
//
// Errors: LifecyclePolicyError carries ARM's own Storage RP codes (rows in src/arm/errors.ts):
//   MissingRequiredParameter            details { target }
//   InvalidValuesForRequestParameters   details { target, parameter, detail }
// `target` is the JSON path of the offending value (properties.policy.rules[2].definition…).
// Azure's exact wording for each rule was not found in public sources; the messages say what the
// documentation says the limit is.
import type { JsonObject, MetaReader, MetaWriter } from '../../../engine/meta/meta-store.js';
import { ServiceError } from '../../../platform/errors.js';
import { asJson } from '../records.js';

export const RULES_MAX = 100;
export const RULE_NAME_CHARS_MAX = 256;
export const PREFIXES_MAX = 10;
export const INDEX_CONDITIONS_MAX = 10;
/** Azure's API accepts day counts up to 99999. */
export const DAYS_MAX = 99_999;

export type LifecyclePolicyErrorCode = 'MissingRequiredParameter' | 'InvalidValuesForRequestParameters';

export class LifecyclePolicyError extends ServiceError<LifecyclePolicyErrorCode> {
  /** A readable sentence for logs and the ARM body's `message` (ARM renders its own from details). */
  override readonly message: string;
  constructor(code: LifecyclePolicyErrorCode, details: { target: string; parameter?: string; detail?: string }) {
    super(code, { ...details });
    this.message = code === 'MissingRequiredParameter'
      ? `The required parameter '${details.target}' is missing.`
      : `Values for request parameters are invalid: ${details.parameter ?? details.target}. ${details.detail ?? ''}`.trim();
  }
}

export type LifecycleBlobType = 'blockBlob' | 'appendBlob';
export type LifecycleActionName = 'tierToCool' | 'tierToCold' | 'tierToArchive' | 'delete';
export const LIFECYCLE_ACTIONS: readonly LifecycleActionName[] = ['tierToCool', 'tierToCold', 'tierToArchive', 'delete'];

export interface BaseBlobCondition {
  daysAfterModificationGreaterThan?: number;
  daysAfterCreationGreaterThan?: number;
  daysAfterLastAccessTimeGreaterThan?: number;
  /** tierToArchive only, together with daysAfterModificationGreaterThan. */
  daysAfterLastTierChangeGreaterThan?: number;
}

export interface CreationCondition {
  daysAfterCreationGreaterThan: number;
}

export type BaseBlobActions = Partial<Record<LifecycleActionName, BaseBlobCondition>> & { enableAutoTierToHotFromCool?: boolean };
export type HistoryActions = Partial<Record<LifecycleActionName, CreationCondition>>;

export interface BlobIndexCondition {
  name: string;
  op: '==';
  value: string;
}

export interface LifecycleRule {
  name: string;
  enabled: boolean;
  type: 'Lifecycle';
  definition: {
    filters: { blobTypes: LifecycleBlobType[]; prefixMatch?: string[]; blobIndexMatch?: BlobIndexCondition[] };
    actions: { baseBlob?: BaseBlobActions; snapshot?: HistoryActions; version?: HistoryActions };
  };
}

export interface ManagementPolicy {
  rules: LifecycleRule[];
}

/** What is stored per account (and what GET returns, with lastModifiedTime). */
export interface StoredPolicy {
  policy: ManagementPolicy;
  lastModifiedMs: number;
  /**
   * When the account first got a policy. Nimbus keeps no LastAccessTime, so, as Azure does for
   * blobs whose LastAccessTime is null, `daysAfterLastAccessTimeGreaterThan` counts from here
   * (or from the blob's last write, if later: a write is an access).
   */
  accessTrackingSinceMs: number;
}

// ---- parsing ----

type Path = string;

function missing(target: Path): never {
  throw new LifecyclePolicyError('MissingRequiredParameter', { target });
}

function invalid(target: Path, detail: string): never {
  const parameter = target.slice(target.lastIndexOf('.') + 1);
  throw new LifecyclePolicyError('InvalidValuesForRequestParameters', { target, parameter, detail });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(value: unknown, path: Path): Record<string, unknown> {
  if (value === undefined || value === null) missing(path);
  if (!isObject(value)) invalid(path, 'An object is expected.');
  return value;
}

function arrayAt(value: unknown, path: Path): unknown[] {
  if (value === undefined || value === null) missing(path);
  if (!Array.isArray(value)) invalid(path, 'An array is expected.');
  return value;
}

function checkKnownKeys(value: Record<string, unknown>, known: readonly string[], path: Path): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) invalid(`${path}.${key}`, `'${key}' is not a valid property here; expected one of: ${known.join(', ')}.`);
  }
}

/**
 * Parses the `properties` object of a management policy PUT (`{ policy: { rules } }`; a whole
 * ARM body `{ properties: { policy } }` is accepted too). Throws LifecyclePolicyError.
 */
export function parsePolicy(body: unknown): ManagementPolicy {
  const root = objectAt(body, 'properties');
  const properties = isObject(root.properties) ? root.properties : root;
  const policy = objectAt(properties.policy, 'properties.policy');
  const rules = arrayAt(policy.rules, 'properties.policy.rules');
  if (rules.length === 0) invalid('properties.policy.rules', 'A policy needs at least one rule.');
  if (rules.length > RULES_MAX) invalid('properties.policy.rules', `A policy can have at most ${RULES_MAX} rules.`);
  const parsed = rules.map((rule, i) => parseRule(rule, `properties.policy.rules[${i}]`));
  const seen = new Set<string>();
  parsed.forEach((rule, i) => {
    if (seen.has(rule.name)) invalid(`properties.policy.rules[${i}].name`, `Rule name '${rule.name}' is used more than once; rule names must be unique within a policy.`);
    seen.add(rule.name);
  });
  return { rules: parsed };
}

function parseRule(value: unknown, path: Path): LifecycleRule {
  const rule = objectAt(value, path);
  checkKnownKeys(rule, ['name', 'enabled', 'type', 'definition'], path);
  if (rule.name === undefined) missing(`${path}.name`);
  if (typeof rule.name !== 'string' || rule.name.length === 0 || rule.name.length > RULE_NAME_CHARS_MAX) {
    invalid(`${path}.name`, `A rule name is a string of 1 to ${RULE_NAME_CHARS_MAX} characters.`);
  }
  if (rule.enabled !== undefined && typeof rule.enabled !== 'boolean') invalid(`${path}.enabled`, 'A boolean is expected.');
  if (rule.type === undefined) missing(`${path}.type`);
  if (rule.type !== 'Lifecycle') invalid(`${path}.type`, "The only valid rule type is 'Lifecycle'.");
  const definition = objectAt(rule.definition, `${path}.definition`);
  checkKnownKeys(definition, ['filters', 'actions'], `${path}.definition`);
  const filters = parseFilters(definition.filters, `${path}.definition.filters`);
  const actions = parseActions(definition.actions, `${path}.definition.actions`);
  return { name: rule.name, enabled: rule.enabled ?? true, type: 'Lifecycle', definition: { filters, actions } };
}

function parseFilters(value: unknown, path: Path): LifecycleRule['definition']['filters'] {
  const filters = objectAt(value, path);
  checkKnownKeys(filters, ['blobTypes', 'prefixMatch', 'blobIndexMatch'], path);
  const types = arrayAt(filters.blobTypes, `${path}.blobTypes`);
  if (types.length === 0) invalid(`${path}.blobTypes`, 'At least one blob type is required.');
  const blobTypes = types.map((type, i): LifecycleBlobType => {
    const text = typeof type === 'string' ? type.toLowerCase() : '';
    if (text === 'blockblob') return 'blockBlob';
    if (text === 'appendblob') return 'appendBlob';
    return invalid(`${path}.blobTypes[${i}]`, `'${String(type)}' is not a supported blob type; use blockBlob or appendBlob.`);
  });
  const out: LifecycleRule['definition']['filters'] = { blobTypes: [...new Set(blobTypes)] };
  if (filters.prefixMatch !== undefined) out.prefixMatch = parsePrefixes(filters.prefixMatch, `${path}.prefixMatch`);
  if (filters.blobIndexMatch !== undefined) out.blobIndexMatch = parseIndexMatch(filters.blobIndexMatch, `${path}.blobIndexMatch`);
  return out;
}

function parsePrefixes(value: unknown, path: Path): string[] {
  const prefixes = arrayAt(value, path);
  if (prefixes.length > PREFIXES_MAX) invalid(path, `A rule can have at most ${PREFIXES_MAX} prefixes.`);
  return prefixes.map((prefix, i) => {
    if (typeof prefix !== 'string' || prefix.length === 0 || prefix.startsWith('/')) {
      invalid(`${path}[${i}]`, 'A prefix is a non-empty string that starts with a container name.');
    }
    return prefix;
  });
}

function parseIndexMatch(value: unknown, path: Path): BlobIndexCondition[] {
  const conditions = arrayAt(value, path);
  if (conditions.length > INDEX_CONDITIONS_MAX) invalid(path, `A rule can have at most ${INDEX_CONDITIONS_MAX} blob index conditions.`);
  return conditions.map((item, i) => {
    const condition = objectAt(item, `${path}[${i}]`);
    checkKnownKeys(condition, ['name', 'op', 'value'], `${path}[${i}]`);
    if (typeof condition.name !== 'string' || condition.name.length === 0 || condition.name.length > 128) {
      invalid(`${path}[${i}].name`, 'A tag name is a string of 1 to 128 characters.');
    }
    if (condition.op !== '==') invalid(`${path}[${i}].op`, "The only supported operator is '=='.");
    if (typeof condition.value !== 'string' || condition.value.length > 256) invalid(`${path}[${i}].value`, 'A tag value is a string of up to 256 characters.');
    return { name: condition.name, op: '==', value: condition.value };
  });
}

function parseActions(value: unknown, path: Path): LifecycleRule['definition']['actions'] {
  const actions = objectAt(value, path);
  checkKnownKeys(actions, ['baseBlob', 'snapshot', 'version'], path);
  const out: LifecycleRule['definition']['actions'] = {};
  if (actions.baseBlob !== undefined) out.baseBlob = parseBaseBlob(actions.baseBlob, `${path}.baseBlob`);
  if (actions.snapshot !== undefined) out.snapshot = parseHistory(actions.snapshot, `${path}.snapshot`);
  if (actions.version !== undefined) out.version = parseHistory(actions.version, `${path}.version`);
  const count = [out.baseBlob, out.snapshot, out.version].reduce((n, set) => n + LIFECYCLE_ACTIONS.filter((a) => set?.[a] !== undefined).length, 0);
  if (count === 0) invalid(path, 'A rule must define at least one action.');
  return out;
}

const BASE_CONDITIONS = ['daysAfterModificationGreaterThan', 'daysAfterCreationGreaterThan', 'daysAfterLastAccessTimeGreaterThan', 'daysAfterLastTierChangeGreaterThan'] as const;
const AGE_CONDITIONS = ['daysAfterModificationGreaterThan', 'daysAfterCreationGreaterThan', 'daysAfterLastAccessTimeGreaterThan'] as const;

function parseBaseBlob(value: unknown, path: Path): BaseBlobActions {
  const set = objectAt(value, path);
  checkKnownKeys(set, [...LIFECYCLE_ACTIONS, 'enableAutoTierToHotFromCool'], path);
  const out: BaseBlobActions = {};
  for (const action of LIFECYCLE_ACTIONS) {
    if (set[action] === undefined) continue;
    const at = `${path}.${action}`;
    const condition = objectAt(set[action], at);
    checkKnownKeys(condition, BASE_CONDITIONS, at);
    const parsed: BaseBlobCondition = {};
    for (const key of BASE_CONDITIONS) if (condition[key] !== undefined) parsed[key] = days(condition[key], `${at}.${key}`);
    const ages = AGE_CONDITIONS.filter((key) => parsed[key] !== undefined);
    if (ages.length !== 1) invalid(at, `An action needs exactly one of ${AGE_CONDITIONS.join(', ')}.`);
    if (parsed.daysAfterLastTierChangeGreaterThan !== undefined && (action !== 'tierToArchive' || parsed.daysAfterModificationGreaterThan === undefined)) {
      invalid(`${at}.daysAfterLastTierChangeGreaterThan`, 'daysAfterLastTierChangeGreaterThan applies only to tierToArchive, together with daysAfterModificationGreaterThan.');
    }
    out[action] = parsed;
  }
  if (set.enableAutoTierToHotFromCool !== undefined) {
    if (typeof set.enableAutoTierToHotFromCool !== 'boolean') invalid(`${path}.enableAutoTierToHotFromCool`, 'A boolean is expected.');
    const byAccess = LIFECYCLE_ACTIONS.some((a) => out[a]?.daysAfterLastAccessTimeGreaterThan !== undefined);
    if (set.enableAutoTierToHotFromCool && !byAccess) {
      invalid(`${path}.enableAutoTierToHotFromCool`, 'enableAutoTierToHotFromCool can be used only with the daysAfterLastAccessTimeGreaterThan run condition.');
    }
    out.enableAutoTierToHotFromCool = set.enableAutoTierToHotFromCool;
  }
  return out;
}

function parseHistory(value: unknown, path: Path): HistoryActions {
  const set = objectAt(value, path);
  checkKnownKeys(set, LIFECYCLE_ACTIONS, path);
  const out: HistoryActions = {};
  for (const action of LIFECYCLE_ACTIONS) {
    if (set[action] === undefined) continue;
    const at = `${path}.${action}`;
    const condition = objectAt(set[action], at);
    checkKnownKeys(condition, ['daysAfterCreationGreaterThan'], at);
    if (condition.daysAfterCreationGreaterThan === undefined) missing(`${at}.daysAfterCreationGreaterThan`);
    out[action] = { daysAfterCreationGreaterThan: days(condition.daysAfterCreationGreaterThan, `${at}.daysAfterCreationGreaterThan`) };
  }
  return out;
}

function days(value: unknown, path: Path): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > DAYS_MAX) {
    invalid(path, `A whole number of days from 0 to ${DAYS_MAX} is expected.`);
  }
  return value;
}

// ---- storage ----

const POLICY_KEY = 'lifecycle-policy';
/** Accounts that have a policy, so the scheduler need not know every account. */
const INDEX_SCOPE = '$lifecycle';
const INDEX_KEY = 'accounts';

export async function readPolicy(tx: MetaReader, account: string): Promise<StoredPolicy | undefined> {
  const stored = await tx.getSetting(account, POLICY_KEY);
  return stored === undefined || stored === null ? undefined : (stored as unknown as StoredPolicy);
}

export async function writePolicy(tx: MetaWriter, account: string, policy: ManagementPolicy, now: number): Promise<StoredPolicy> {
  const previous = await readPolicy(tx, account);
  const stored: StoredPolicy = { policy, lastModifiedMs: now, accessTrackingSinceMs: previous?.accessTrackingSinceMs ?? now };
  await tx.putSetting(account, POLICY_KEY, asJson(stored));
  const accounts = await policyAccounts(tx);
  if (!accounts.includes(account)) await tx.putSetting(INDEX_SCOPE, INDEX_KEY, [...accounts, account].sort());
  return stored;
}

/** Removes the policy; false when there was none. */
export async function removePolicy(tx: MetaWriter, account: string): Promise<boolean> {
  const previous = await readPolicy(tx, account);
  if (!previous) return false;
  await tx.putSetting(account, POLICY_KEY, null);
  await tx.putSetting(INDEX_SCOPE, INDEX_KEY, (await policyAccounts(tx)).filter((a) => a !== account));
  return true;
}

export async function policyAccounts(tx: MetaReader): Promise<string[]> {
  const stored = await tx.getSetting(INDEX_SCOPE, INDEX_KEY);
  return Array.isArray(stored) ? stored.filter((a): a is string => typeof a === 'string') : [];
}

/** The ARM resource body's `properties` (GET/PUT response). */
export function policyProperties(stored: StoredPolicy): JsonObject {
  return { lastModifiedTime: new Date(stored.lastModifiedMs).toISOString(), policy: asJson(stored.policy) } as JsonObject;
}
