// Microsoft.Storage/storageAccounts/blobServices over ARM
// (https://learn.microsoft.com/rest/api/storagerp/blob-services): the account's data-protection switches.
//
//   GET          …/storageAccounts/{a}/blobServices            { value: [default] }
//   GET          …/storageAccounts/{a}/blobServices/default
//   PUT | PATCH  …/storageAccounts/{a}/blobServices/default    body { properties: { … } }
//
// Properties handled (spec/blob-rest.md §15, versioning-softdelete.md §1):
//   isVersioningEnabled (automaticSnapshotPolicyEnabled is its deprecated alias)
//   deleteRetentionPolicy { enabled, days 1–365, allowPermanentDelete }   same stored setting as the data
//                                                                         plane's DeleteRetentionPolicy
//   containerDeleteRetentionPolicy { enabled, days 1–365 }
//   defaultServiceVersion (echoed from the data plane's service properties)
// PUT and PATCH both change only the properties present (Azure's PUT behaves so for these switches:
// `az storage account blob-service-properties update` sends one of them at a time). Enabling a retention
// policy needs `days`. Everything goes through BlobApi.getDataProtection/setDataProtection, the one
// place these switches are stored.
import type { DataProtection, DataProtectionChange } from '../../blob/service/model.js';
import type { StorageAccountRecord } from '../../accounts/model.js';
import { ServiceError } from '../../platform/errors.js';
import { armFail } from '../errors.js';
import { field, json, param, readJsonObject, storageAccountId, type ArmContext, type JsonObject, type JsonValue, type Reply } from '../context.js';
import type { RouteDef } from '../routes.js';

const ACCOUNT = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}';
const RETENTION_DAYS_MIN = 1;
const RETENTION_DAYS_MAX = 365;

export const BLOB_SERVICE_ROUTES = [
  { method: 'GET', path: `${ACCOUNT}/blobServices`, kind: 'arm', handler: listBlobServices },
  { method: 'GET', path: `${ACCOUNT}/blobServices/default`, kind: 'arm', handler: getBlobService },
  { method: 'PUT', path: `${ACCOUNT}/blobServices/default`, kind: 'arm', handler: setBlobService },
  { method: 'PATCH', path: `${ACCOUNT}/blobServices/default`, kind: 'arm', handler: setBlobService },
] as const satisfies readonly RouteDef[];

function accountOf(ctx: ArmContext): StorageAccountRecord {
  return ctx.deps.accounts.get(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'), param(ctx, 'accountName'));
}

async function render(ctx: ArmContext, account: StorageAccountRecord, protection: DataProtection): Promise<JsonValue> {
  const { defaultServiceVersion } = await ctx.deps.blob.getServiceProperties(account.name);
  const { deleteRetention, containerDeleteRetention } = protection;
  const properties: JsonObject = {
    cors: { corsRules: [] },
    deleteRetentionPolicy: deleteRetention.enabled
      ? { enabled: true, days: deleteRetention.days, allowPermanentDelete: deleteRetention.allowPermanentDelete }
      : { enabled: false, allowPermanentDelete: deleteRetention.allowPermanentDelete },
    isVersioningEnabled: protection.versioning,
    containerDeleteRetentionPolicy: containerDeleteRetention.enabled
      ? { enabled: true, days: containerDeleteRetention.days }
      : { enabled: false },
  };
  if (defaultServiceVersion !== undefined) properties.defaultServiceVersion = defaultServiceVersion;
  return {
    id: `${storageAccountId(account.subscriptionId, account.resourceGroup, account.name)}/blobServices/default`,
    name: 'default',
    type: 'Microsoft.Storage/storageAccounts/blobServices',
    sku: { name: account.skuName, tier: account.skuName.startsWith('Premium') ? 'Premium' : 'Standard' },
    properties,
  };
}

async function listBlobServices(ctx: ArmContext): Promise<Reply> {
  const account = accountOf(ctx);
  return json(200, { value: [await render(ctx, account, await ctx.deps.blob.getDataProtection(account.name))] });
}

async function getBlobService(ctx: ArmContext): Promise<Reply> {
  const account = accountOf(ctx);
  return json(200, await render(ctx, account, await ctx.deps.blob.getDataProtection(account.name)));
}

async function setBlobService(ctx: ArmContext): Promise<Reply> {
  const account = accountOf(ctx);
  const body = await readJsonObject(ctx);
  const change = parseChange(field.object(body, 'properties', '') ?? {});
  let protection: DataProtection;
  try {
    protection = await ctx.deps.blob.setDataProtection(account.name, change);
  } catch (error) {
    // The blob service states its rules in data-plane codes; this is the one it has for bad values.
    if (error instanceof ServiceError && error.code === 'InvalidXmlNodeValue') {
      armFail('InvalidParameter', { target: 'properties', detail: `Rejected by the blob service: ${JSON.stringify(error.details)}.` });
    }
    throw error;
  }
  return json(200, await render(ctx, account, protection));
}

function parseChange(properties: JsonObject): DataProtectionChange {
  const change: DataProtectionChange = {};
  const versioning = field.boolean(properties, 'isVersioningEnabled', 'properties.')
    ?? field.boolean(properties, 'automaticSnapshotPolicyEnabled', 'properties.');
  if (versioning !== undefined) change.versioning = versioning;
  const blobPolicy = field.object(properties, 'deleteRetentionPolicy', 'properties.');
  if (blobPolicy !== undefined) {
    const prefix = 'properties.deleteRetentionPolicy.';
    const policy = parsePolicy(blobPolicy, prefix);
    const allowPermanentDelete = field.boolean(blobPolicy, 'allowPermanentDelete', prefix);
    change.deleteRetention = allowPermanentDelete === undefined ? policy : { ...policy, allowPermanentDelete };
  }
  const containerPolicy = field.object(properties, 'containerDeleteRetentionPolicy', 'properties.');
  if (containerPolicy !== undefined) change.containerDeleteRetention = parsePolicy(containerPolicy, 'properties.containerDeleteRetentionPolicy.');
  return change;
}

/** `{ enabled, days }`: enabling needs days in 1–365; disabling ignores days (Azure keeps none). */
function parsePolicy(policy: JsonObject, prefix: string): { enabled: boolean; days?: number } {
  const enabled = field.boolean(policy, 'enabled', prefix);
  if (enabled === undefined) armFail('MissingRequiredParameter', { target: `${prefix}enabled` });
  const days = field.number(policy, 'days', prefix);
  if (!enabled) return { enabled };
  if (days === undefined || !Number.isInteger(days) || days < RETENTION_DAYS_MIN || days > RETENTION_DAYS_MAX) {
    armFail('InvalidParameter', {
      target: `${prefix}days`,
      detail: `When the policy is enabled, days must be an integer from ${RETENTION_DAYS_MIN} to ${RETENTION_DAYS_MAX}; got ${days === undefined ? 'none' : String(days)}.`,
    });
  }
  return { enabled, days };
}
