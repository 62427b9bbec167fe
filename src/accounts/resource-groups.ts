// Resource groups: create-or-update, get, list, delete. Follows
// https://learn.microsoft.com/rest/api/resources/resource-groups.
//
// - Every well-formed GUID is a subscription that exists (Nimbus has no billing); a malformed one is
//   400 InvalidSubscriptionId.
// - Names compare case-insensitively; the casing of the first create is the one kept and echoed.
// - Deleting a group deletes the storage accounts in it, and their data (Azure does the same).
// - The default group (subscription 00000000-…, group `nimbus`) holds the built-in accounts; it always
//   exists and cannot be deleted.
import { dropAccountData } from '../blob/service/account-data.js';
import { fail } from './errors.js';
import {
  DEFAULT_LOCATION, DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID, type ResourceGroupRecord, type Tags,
} from './model.js';
import { isValidResourceGroupName, isValidSubscriptionId, resourceGroupKey } from './names.js';
import type { ManagementState } from './state.js';

const BUILT_IN_GROUP: ResourceGroupRecord = {
  subscriptionId: DEFAULT_SUBSCRIPTION_ID, name: DEFAULT_RESOURCE_GROUP, location: DEFAULT_LOCATION,
  tags: {}, createdMs: 0, builtIn: true,
};
const BUILT_IN_KEY = resourceGroupKey(DEFAULT_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP);

export function checkSubscription(subscriptionId: string): void {
  if (!isValidSubscriptionId(subscriptionId)) fail('InvalidSubscriptionId', { subscriptionId });
}

export class ResourceGroups {
  constructor(private readonly state: ManagementState) {}

  find(subscriptionId: string, name: string): ResourceGroupRecord | undefined {
    const key = resourceGroupKey(subscriptionId, name);
    if (key === BUILT_IN_KEY) return BUILT_IN_GROUP;
    return this.state.current.resourceGroups.get(key);
  }

  get(subscriptionId: string, name: string): ResourceGroupRecord {
    checkSubscription(subscriptionId);
    const group = this.find(subscriptionId, name);
    if (!group) fail('ResourceGroupNotFound', { resourceGroup: name });
    return group;
  }

  list(subscriptionId: string): ResourceGroupRecord[] {
    checkSubscription(subscriptionId);
    const sub = subscriptionId.toLowerCase();
    const stored = [...this.state.current.resourceGroups.values()].filter((g) => g.subscriptionId.toLowerCase() === sub);
    const all = sub === DEFAULT_SUBSCRIPTION_ID ? [BUILT_IN_GROUP, ...stored] : stored;
    return all.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  }

  /** PUT: creates the group, or replaces its tags (location cannot change, as in Azure). */
  async createOrUpdate(
    subscriptionId: string,
    name: string,
    spec: { location: string; tags?: Tags },
    now: number,
  ): Promise<{ group: ResourceGroupRecord; created: boolean }> {
    checkSubscription(subscriptionId);
    if (!isValidResourceGroupName(name)) fail('InvalidResourceGroupName', { resourceGroup: name });
    const existing = this.find(subscriptionId, name);
    if (existing?.builtIn) return { group: existing, created: false };
    return this.state.mutate(async (draft) => {
      const key = resourceGroupKey(subscriptionId, name);
      const current = draft.resourceGroups.get(key);
      if (current && current.location.toLowerCase() !== spec.location.toLowerCase()) {
        fail('InvalidValuesForRequestParameters', { parameter: 'location', detail: `Invalid resource group location '${spec.location}'. The Resource group already exists in location '${current.location}' in resource group '${current.name}'.` });
      }
      const group: ResourceGroupRecord = current
        ? { ...current, tags: spec.tags ?? current.tags }
        : { subscriptionId, name, location: spec.location, tags: spec.tags ?? {}, createdMs: now, builtIn: false };
      draft.resourceGroups.set(key, group);
      return { group, created: current === undefined };
    });
  }

  /** DELETE: true if the group existed. Its storage accounts and their data go with it. */
  async delete(subscriptionId: string, name: string): Promise<boolean> {
    checkSubscription(subscriptionId);
    const key = resourceGroupKey(subscriptionId, name);
    if (key === BUILT_IN_KEY) fail('ResourceGroupBuiltIn', { resourceGroup: name });
    if (!this.state.current.resourceGroups.has(key)) return false;
    return this.state.mutate(async (draft, tx) => {
      if (!draft.resourceGroups.delete(key)) return false;
      for (const account of [...draft.storageAccounts.values()]) {
        if (resourceGroupKey(account.subscriptionId, account.resourceGroup) !== key) continue;
        draft.storageAccounts.delete(account.name);
        await dropAccountData(tx, account.name);
      }
      return true;
    });
  }
}
