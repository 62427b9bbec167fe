// Microsoft.Storage/storageAccounts over ARM (https://learn.microsoft.com/rest/api/storagerp/storage-accounts):
//
//   PUT    …/storageAccounts/{a}                  create or update → 200 with provisioningState Succeeded
//   GET    …/storageAccounts/{a}                  200
//   PATCH  …/storageAccounts/{a}                  update sku / kind / tags / accessTier → 200
//   DELETE …/storageAccounts/{a}                  200 deleted, 204 did not exist (Azure's answers)
//   GET    …/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts     list in a group
//   GET    /subscriptions/{s}/providers/Microsoft.Storage/storageAccounts        list in a subscription
//   POST   …/storageAccounts/{a}/listKeys          { keys: [{ keyName, value, permissions: FULL, creationTime }] }
//   POST   …/storageAccounts/{a}/regenerateKey     body { keyName: key1|key2 } → the new key list
//   POST   /subscriptions/{s}/providers/Microsoft.Storage/checkNameAvailability
//
// Creation completes before the reply, so PUT answers 200 with a terminal provisioningState and the SDK's
// poller (`storageAccounts.create` / `beginCreateAndWait`) finishes without polling (spec §1 LRO, verified
// with @azure/arm-storage 20 in test/arm-storage.test.ts). Account rules: src/accounts/storage-accounts.ts.
import type { AccessTier, StorageAccountRecord, StorageAccountSpec, StorageAccountUpdate } from '../../accounts/model.js';
import { formatIso7 } from '../../azure-wire/format.js';
import { armFail } from '../errors.js';
import {
  field, json, param, readJsonObject, storageAccountId, type ArmContext, type JsonObject, type JsonValue, type Reply,
} from '../context.js';
import type { RouteDef } from '../routes.js';

const ACCOUNT = '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}';
const SKU_NAMES = [
  'Standard_LRS', 'Standard_GRS', 'Standard_RAGRS', 'Standard_ZRS', 'Premium_LRS', 'Premium_ZRS',
  'Standard_GZRS', 'Standard_RAGZRS', 'StandardV2_LRS', 'StandardV2_GRS', 'StandardV2_ZRS', 'StandardV2_GZRS',
  'PremiumV2_LRS', 'PremiumV2_ZRS',
];
const KINDS = ['Storage', 'StorageV2', 'BlobStorage', 'FileStorage', 'BlockBlobStorage'];
const ACCESS_TIERS: readonly AccessTier[] = ['Hot', 'Cool', 'Cold', 'Premium'];

export const STORAGE_ACCOUNT_ROUTES = [
  { method: 'PUT', path: ACCOUNT, kind: 'arm', handler: putAccount },
  { method: 'GET', path: ACCOUNT, kind: 'arm', handler: getAccount },
  { method: 'PATCH', path: ACCOUNT, kind: 'arm', handler: patchAccount },
  { method: 'DELETE', path: ACCOUNT, kind: 'arm', handler: deleteAccount },
  { method: 'POST', path: `${ACCOUNT}/listKeys`, kind: 'arm', handler: listKeys },
  { method: 'POST', path: `${ACCOUNT}/regenerateKey`, kind: 'arm', handler: regenerateKey },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts', kind: 'arm', handler: listInGroup },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts', kind: 'arm', handler: listInSubscription },
  { method: 'POST', path: '/subscriptions/{subscriptionId}/providers/Microsoft.Storage/checkNameAvailability', kind: 'arm', handler: checkNameAvailability },
] as const satisfies readonly RouteDef[];

export function renderAccount(ctx: ArmContext, account: StorageAccountRecord): JsonValue {
  const created = formatIso7(account.createdMs);
  const keyCreationTime: JsonObject = {};
  for (const key of account.keys) keyCreationTime[key.keyName] = formatIso7(key.createdMs);
  return {
    id: storageAccountId(account.subscriptionId, account.resourceGroup, account.name),
    name: account.name,
    type: 'Microsoft.Storage/storageAccounts',
    location: account.location,
    tags: account.tags,
    sku: { name: account.skuName, tier: account.skuName.startsWith('Premium') ? 'Premium' : 'Standard' },
    kind: account.kind,
    properties: {
      provisioningState: 'Succeeded',
      creationTime: created,
      primaryEndpoints: { blob: ctx.deps.blobEndpoint(account.name) },
      primaryLocation: account.location,
      statusOfPrimary: 'available',
      accessTier: account.accessTier,
      keyCreationTime,
      supportsHttpsTrafficOnly: false,
      minimumTlsVersion: 'TLS1_2',
      allowBlobPublicAccess: true,
      allowSharedKeyAccess: true,
      networkAcls: { bypass: 'AzureServices', virtualNetworkRules: [], ipRules: [], defaultAction: 'Allow' },
      encryption: {
        services: { blob: { keyType: 'Account', enabled: true, lastEnabledTime: created } },
        keySource: 'Microsoft.Storage',
      },
    },
  };
}

function ids(ctx: ArmContext): [string, string, string] {
  return [param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'), param(ctx, 'accountName')];
}

async function putAccount(ctx: ArmContext): Promise<Reply> {
  const spec = parseSpec(await readJsonObject(ctx));
  const { account } = await ctx.deps.accounts.createOrUpdate(...ids(ctx), spec, ctx.nowMs);
  return json(200, renderAccount(ctx, account));
}

async function getAccount(ctx: ArmContext): Promise<Reply> {
  return json(200, renderAccount(ctx, ctx.deps.accounts.get(...ids(ctx))));
}

async function patchAccount(ctx: ArmContext): Promise<Reply> {
  const change = parseUpdate(await readJsonObject(ctx));
  return json(200, renderAccount(ctx, await ctx.deps.accounts.update(...ids(ctx), change)));
}

async function deleteAccount(ctx: ArmContext): Promise<Reply> {
  return { status: (await ctx.deps.accounts.delete(...ids(ctx))) ? 200 : 204 };
}

async function listInGroup(ctx: ArmContext): Promise<Reply> {
  const accounts = ctx.deps.accounts.listByResourceGroup(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'));
  return json(200, { value: accounts.map((a) => renderAccount(ctx, a)) });
}

async function listInSubscription(ctx: ArmContext): Promise<Reply> {
  const accounts = ctx.deps.accounts.listBySubscription(param(ctx, 'subscriptionId'));
  return json(200, { value: accounts.map((a) => renderAccount(ctx, a)) });
}

function renderKeys(keys: StorageAccountRecord['keys']): JsonValue {
  return { keys: keys.map((k) => ({ keyName: k.keyName, value: k.value, permissions: 'FULL', creationTime: formatIso7(k.createdMs) })) };
}

async function listKeys(ctx: ArmContext): Promise<Reply> {
  return json(200, renderKeys(ctx.deps.accounts.listKeys(...ids(ctx))));
}

async function regenerateKey(ctx: ArmContext): Promise<Reply> {
  const body = await readJsonObject(ctx);
  const keyName = field.string(body, 'keyName', '');
  if (keyName === undefined) armFail('MissingRequiredParameter', { target: 'keyName' });
  const normalized = keyName.toLowerCase();
  if (normalized !== 'key1' && normalized !== 'key2') {
    armFail('InvalidParameter', { target: 'keyName', detail: `Expected 'key1' or 'key2', got '${keyName}'.` });
  }
  return json(200, renderKeys(await ctx.deps.accounts.regenerateKey(...ids(ctx), normalized, ctx.nowMs)));
}

async function checkNameAvailability(ctx: ArmContext): Promise<Reply> {
  const body = await readJsonObject(ctx);
  const name = field.string(body, 'name', '');
  if (name === undefined) armFail('MissingRequiredParameter', { target: 'name' });
  const type = field.string(body, 'type', '') ?? 'Microsoft.Storage/storageAccounts';
  if (type.toLowerCase() !== 'microsoft.storage/storageaccounts') {
    armFail('InvalidParameter', { target: 'type', detail: "Expected 'Microsoft.Storage/storageAccounts'." });
  }
  const result = ctx.deps.accounts.checkNameAvailability(name);
  return json(200, result.available ? { nameAvailable: true } : { nameAvailable: false, reason: result.reason, message: result.message });
}

function parseSpec(body: JsonObject): StorageAccountSpec {
  const location = field.string(body, 'location', '');
  if (location === undefined) armFail('MissingRequiredParameter', { target: 'location' });
  const skuName = parseSku(body);
  if (skuName === undefined) armFail('MissingRequiredParameter', { target: 'sku' });
  const kind = parseKind(body);
  if (kind === undefined) armFail('MissingRequiredParameter', { target: 'kind' });
  const spec: StorageAccountSpec = { location, skuName, kind };
  const accessTier = parseAccessTier(body);
  if (accessTier !== undefined) spec.accessTier = accessTier;
  const tags = field.tags(body, 'tags');
  if (tags !== undefined) spec.tags = tags;
  return spec;
}

function parseUpdate(body: JsonObject): StorageAccountUpdate {
  const change: StorageAccountUpdate = {};
  const skuName = parseSku(body);
  if (skuName !== undefined) change.skuName = skuName;
  const kind = parseKind(body);
  if (kind !== undefined) change.kind = kind;
  const accessTier = parseAccessTier(body);
  if (accessTier !== undefined) change.accessTier = accessTier;
  const tags = field.tags(body, 'tags');
  if (tags !== undefined) change.tags = tags;
  return change;
}

function parseSku(body: JsonObject): string | undefined {
  const sku = field.object(body, 'sku', '');
  if (sku === undefined) return undefined;
  const name = field.string(sku, 'name', 'sku.');
  if (name === undefined) armFail('MissingRequiredParameter', { target: 'sku.name' });
  const known = SKU_NAMES.find((s) => s.toLowerCase() === name.toLowerCase());
  if (!known) armFail('InvalidParameter', { target: 'sku.name', detail: `Supported: ${SKU_NAMES.join(', ')}.` });
  return known;
}

function parseKind(body: JsonObject): string | undefined {
  const kind = field.string(body, 'kind', '');
  if (kind === undefined) return undefined;
  const known = KINDS.find((k) => k.toLowerCase() === kind.toLowerCase());
  if (!known) armFail('InvalidParameter', { target: 'kind', detail: `Supported: ${KINDS.join(', ')}.` });
  return known;
}

function parseAccessTier(body: JsonObject): AccessTier | undefined {
  const properties = field.object(body, 'properties', '');
  const tier = properties === undefined ? undefined : field.string(properties, 'accessTier', 'properties.');
  if (tier === undefined) return undefined;
  const known = ACCESS_TIERS.find((t) => t.toLowerCase() === tier.toLowerCase());
  if (!known) armFail('InvalidParameter', { target: 'properties.accessTier', detail: `Supported: ${ACCESS_TIERS.join(', ')}.` });
  return known;
}
