// Storage accounts (Microsoft.Storage/storageAccounts): create-or-update, update, get, list, delete,
// list keys, regenerate a key, check name availability. Follows
// https://learn.microsoft.com/rest/api/storagerp/storage-accounts.
//
// - Names: 3–24 lower-case letters and digits (else AccountNameInvalid), unique across every
//   subscription (else StorageAccountAlreadyTaken). A PUT of an existing account in the same group is
//   an update.
// - Every account has two 512-bit keys (key1, key2), made at creation; regenerating one leaves the
//   other valid, so clients can rotate without downtime.
// - The data plane's account registry (blob/service/accounts.ts) follows every committed change: a new
//   account and new keys work on the blob endpoint as soon as the ARM call returns; a deleted account
//   is unknown to it (404) and its containers and blobs are dropped in the same transaction.
// - Built-in accounts (devstoreaccount1, config-file accounts) appear in subscription
//   00000000-0000-0000-0000-000000000000, group `nimbus`; their keys come from configuration, so they
//   cannot be regenerated, and they cannot be deleted (409 StorageAccountBuiltIn).
//
// Records are never changed in place: a change stores a new record (ManagementState copies maps, not
// records).
import { randomHex } from '../platform/ids.js';
import type { AccountConfig, AccountRegistry } from '../blob/service/accounts.js';
import { dropAccountData } from '../blob/service/account-data.js';
import { fail } from './errors.js';
import {
  DEFAULT_LOCATION, DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID, type AccountKey, type KeyName, type NameAvailability,
  type StorageAccountRecord, type StorageAccountSpec, type StorageAccountUpdate,
} from './model.js';
import { isValidAccountName, resourceGroupKey } from './names.js';
import { checkSubscription, type ResourceGroups } from './resource-groups.js';
import type { ManagementState, StateSnapshot } from './state.js';

const KEY_BYTES = 64;

export interface StorageAccountDeps {
  state: ManagementState;
  groups: ResourceGroups;
  /** The data plane's view; kept in step with every commit. */
  registry: AccountRegistry;
  /** Accounts from configuration (devstoreaccount1 first when enabled). */
  builtIns: readonly AccountConfig[];
}

export class StorageAccounts {
  readonly #builtIns: ReadonlyMap<string, StorageAccountRecord>;

  constructor(private readonly deps: StorageAccountDeps) {
    this.#builtIns = new Map(deps.builtIns.map((a) => [a.name, builtInRecord(a)]));
    deps.state.subscribe((previous, next) => this.#syncRegistry(previous, next));
  }

  get(subscriptionId: string, resourceGroup: string, name: string): StorageAccountRecord {
    const group = this.deps.groups.get(subscriptionId, resourceGroup);
    const account = this.#find(name);
    if (!account || !inGroup(account, subscriptionId, group.name)) {
      fail('ResourceNotFound', { type: 'Microsoft.Storage/storageAccounts', name, resourceGroup });
    }
    return account;
  }

  listBySubscription(subscriptionId: string): StorageAccountRecord[] {
    checkSubscription(subscriptionId);
    const sub = subscriptionId.toLowerCase();
    return this.#all().filter((a) => a.subscriptionId.toLowerCase() === sub);
  }

  listByResourceGroup(subscriptionId: string, resourceGroup: string): StorageAccountRecord[] {
    const group = this.deps.groups.get(subscriptionId, resourceGroup);
    return this.#all().filter((a) => inGroup(a, subscriptionId, group.name));
  }

  checkNameAvailability(name: string): NameAvailability {
    if (!isValidAccountName(name)) return { available: false, reason: 'AccountNameInvalid', message: invalidNameMessage(name) };
    if (this.#find(name)) return { available: false, reason: 'AlreadyExists', message: `The storage account named ${name} is already taken.` };
    return { available: true };
  }

  /** PUT: creates the account (with fresh keys) or, if it exists in this group, updates it. */
  async createOrUpdate(
    subscriptionId: string,
    resourceGroup: string,
    name: string,
    spec: StorageAccountSpec,
    now: number,
  ): Promise<{ account: StorageAccountRecord; created: boolean }> {
    const group = this.deps.groups.get(subscriptionId, resourceGroup);
    if (!isValidAccountName(name)) fail('AccountNameInvalid', { name });
    const builtIn = this.#builtIns.get(name);
    if (builtIn) {
      if (inGroup(builtIn, subscriptionId, group.name)) return { account: builtIn, created: false };
      fail('StorageAccountAlreadyTaken', { name });
    }
    return this.deps.state.mutate(async (draft) => {
      const existing = draft.storageAccounts.get(name);
      if (existing && !inGroup(existing, subscriptionId, group.name)) fail('StorageAccountAlreadyTaken', { name });
      const account: StorageAccountRecord = existing
        ? applyUpdate(existing, spec)
        : {
            name, subscriptionId, resourceGroup: group.name, location: spec.location, skuName: spec.skuName, kind: spec.kind,
            accessTier: spec.accessTier ?? 'Hot', tags: spec.tags ?? {}, createdMs: now,
            keys: [newKey('key1', now), newKey('key2', now)], builtIn: false,
          };
      draft.storageAccounts.set(name, account);
      return { account, created: existing === undefined };
    });
  }

  /** PATCH: changes only what is given. */
  async update(subscriptionId: string, resourceGroup: string, name: string, change: StorageAccountUpdate): Promise<StorageAccountRecord> {
    const current = this.get(subscriptionId, resourceGroup, name);
    if (current.builtIn) fail('StorageAccountBuiltIn', { name });
    return this.deps.state.mutate(async (draft) => {
      const existing = draft.storageAccounts.get(name);
      if (!existing) fail('ResourceNotFound', { type: 'Microsoft.Storage/storageAccounts', name, resourceGroup });
      const account = applyUpdate(existing, change);
      draft.storageAccounts.set(name, account);
      return account;
    });
  }

  /** DELETE: true if the account existed. Its containers and blobs are dropped with it. */
  async delete(subscriptionId: string, resourceGroup: string, name: string): Promise<boolean> {
    const group = this.deps.groups.get(subscriptionId, resourceGroup);
    const account = this.#find(name);
    if (!account || !inGroup(account, subscriptionId, group.name)) return false;
    if (account.builtIn) fail('StorageAccountBuiltIn', { name });
    return this.deps.state.mutate(async (draft, tx) => {
      if (!draft.storageAccounts.delete(name)) return false;
      await dropAccountData(tx, name);
      return true;
    });
  }

  listKeys(subscriptionId: string, resourceGroup: string, name: string): AccountKey[] {
    return this.get(subscriptionId, resourceGroup, name).keys;
  }

  async regenerateKey(subscriptionId: string, resourceGroup: string, name: string, keyName: KeyName, now: number): Promise<AccountKey[]> {
    const current = this.get(subscriptionId, resourceGroup, name);
    if (current.builtIn) fail('StorageAccountBuiltIn', { name });
    return this.deps.state.mutate(async (draft) => {
      const existing = draft.storageAccounts.get(name);
      if (!existing) fail('ResourceNotFound', { type: 'Microsoft.Storage/storageAccounts', name, resourceGroup });
      const keys = existing.keys.map((k) => (k.keyName === keyName ? newKey(keyName, now) : k));
      draft.storageAccounts.set(name, { ...existing, keys });
      return keys;
    });
  }

  /** The account with this name in whatever group holds it (names are global), built-ins included. */
  find(name: string): StorageAccountRecord | undefined {
    return this.#find(name);
  }

  #find(name: string): StorageAccountRecord | undefined {
    return this.#builtIns.get(name) ?? this.deps.state.current.storageAccounts.get(name);
  }

  #all(): StorageAccountRecord[] {
    const stored = [...this.deps.state.current.storageAccounts.values()];
    return [...this.#builtIns.values(), ...stored].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Data plane view := built-ins + stored accounts. Built-in names win (config beats stale state). */
  #syncRegistry(previous: StateSnapshot, next: StateSnapshot): void {
    const { registry } = this.deps;
    for (const name of previous.storageAccounts.keys()) {
      if (!next.storageAccounts.has(name) && !this.#builtIns.has(name)) registry.remove(name);
    }
    for (const account of next.storageAccounts.values()) {
      if (this.#builtIns.has(account.name) || previous.storageAccounts.get(account.name) === account) continue;
      registry.put({ name: account.name, keys: account.keys.map((k) => k.value) });
    }
  }
}

export function invalidNameMessage(name: string): string {
  return `${name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.`;
}

function inGroup(account: StorageAccountRecord, subscriptionId: string, resourceGroup: string): boolean {
  return resourceGroupKey(account.subscriptionId, account.resourceGroup) === resourceGroupKey(subscriptionId, resourceGroup);
}

function applyUpdate(account: StorageAccountRecord, change: StorageAccountUpdate): StorageAccountRecord {
  return {
    ...account,
    skuName: change.skuName ?? account.skuName,
    kind: change.kind ?? account.kind,
    accessTier: change.accessTier ?? account.accessTier,
    tags: change.tags ?? account.tags,
  };
}

function newKey(keyName: KeyName, now: number): AccountKey {
  return { keyName, value: Buffer.from(randomHex(KEY_BYTES), 'hex').toString('base64'), createdMs: now };
}

function builtInRecord(config: AccountConfig): StorageAccountRecord {
  const names: KeyName[] = ['key1', 'key2'];
  return {
    name: config.name, subscriptionId: DEFAULT_SUBSCRIPTION_ID, resourceGroup: DEFAULT_RESOURCE_GROUP,
    location: DEFAULT_LOCATION, skuName: 'Standard_LRS', kind: 'StorageV2', accessTier: 'Hot', tags: {}, createdMs: 0,
    keys: config.keys.slice(0, 2).flatMap((value, i) => {
      const keyName = names[i];
      return keyName ? [{ keyName, value, createdMs: 0 }] : [];
    }),
    builtIn: true,
  };
}
