// The management plane's vocabulary: resource groups and storage accounts as the services keep them.
// Plain data, no HTTP; timestamps are epoch milliseconds. The ARM adapter renders these as ARM JSON.

/** Where the built-in accounts (devstoreaccount1, config accounts) appear in ARM. */
export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const DEFAULT_RESOURCE_GROUP = 'nimbus';
/** Azure Stack's name for "this one place"; Nimbus has no regions yet. */
export const DEFAULT_LOCATION = 'local';

export type Tags = Record<string, string>;

export interface ResourceGroupRecord {
  subscriptionId: string;
  /** As first created (ARM echoes the creation casing). */
  name: string;
  location: string;
  tags: Tags;
  createdMs: number;
  /** The default resource group: always exists, cannot be deleted. */
  builtIn: boolean;
}

export type KeyName = 'key1' | 'key2';

export interface AccountKey {
  keyName: KeyName;
  value: string;
  createdMs: number;
}

export type AccessTier = 'Hot' | 'Cool' | 'Cold' | 'Premium';

export interface StorageAccountRecord {
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  skuName: string;
  kind: string;
  accessTier: AccessTier;
  tags: Tags;
  createdMs: number;
  keys: AccountKey[];
  /** devstoreaccount1 and config-file accounts: never stored, keys fixed, cannot be deleted. */
  builtIn: boolean;
}

/** What a create-or-update (PUT) of a storage account asks for, already parsed by the adapter. */
export interface StorageAccountSpec {
  location: string;
  skuName: string;
  kind: string;
  accessTier?: AccessTier;
  tags?: Tags;
}

/** What an update (PATCH) may change. */
export interface StorageAccountUpdate {
  skuName?: string;
  kind?: string;
  accessTier?: AccessTier;
  tags?: Tags;
}

export type NameAvailability =
  | { available: true }
  | { available: false; reason: 'AccountNameInvalid' | 'AlreadyExists'; message: string };
