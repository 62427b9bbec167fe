// Name rules of the management plane, as Azure states them:
//   storage account  3–24 characters, lower-case letters and digits only, unique across all
//                    subscriptions (https://learn.microsoft.com/azure/storage/common/storage-account-overview#storage-account-name)
//   resource group   1–90 characters: letters, digits, '_', '-', '.', '(', ')'; not ending in '.'
//                    (https://learn.microsoft.com/rest/api/resources/resource-groups/create-or-update)
//   subscription     a GUID; any well-formed GUID exists in Nimbus
// Resource group names (like every ARM name) compare case-insensitively; the casing used at creation is
// the one echoed back.

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const RESOURCE_GROUP_NAME = /^[-\w.()]{1,90}$/u;
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isValidAccountName(name: string): boolean {
  return ACCOUNT_NAME.test(name);
}

export function isValidResourceGroupName(name: string): boolean {
  return RESOURCE_GROUP_NAME.test(name) && !name.endsWith('.');
}

export function isValidSubscriptionId(id: string): boolean {
  return GUID.test(id);
}

/** The key under which a resource group is stored: both names folded, because ARM compares them so. */
export function resourceGroupKey(subscriptionId: string, resourceGroup: string): string {
  return `${subscriptionId.toLowerCase()}/${resourceGroup.toLowerCase()}`;
}
