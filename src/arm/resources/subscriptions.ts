// Subscriptions and tenants (https://learn.microsoft.com/rest/api/resources/subscriptions). Nimbus has
// no billing: every well-formed GUID is a subscription that exists and is Enabled; listing shows the
// default one (00000000-0000-0000-0000-000000000000), which holds the built-in accounts.
import { DEFAULT_LOCATION, DEFAULT_SUBSCRIPTION_ID } from '../../accounts/model.js';
import { checkSubscription } from '../../accounts/resource-groups.js';
import { json, param, type ArmContext, type JsonValue, type Reply } from '../context.js';
import { DEV_PRINCIPAL } from '../principals.js';
import type { RouteDef } from '../routes.js';

export const SUBSCRIPTION_ROUTES = [
  { method: 'GET', path: '/subscriptions', kind: 'arm', handler: listSubscriptions },
  { method: 'GET', path: '/subscriptions/{subscriptionId}', kind: 'arm', handler: getSubscription },
  { method: 'GET', path: '/subscriptions/{subscriptionId}/locations', kind: 'arm', handler: listLocations },
  { method: 'GET', path: '/tenants', kind: 'arm', handler: listTenants },
] as const satisfies readonly RouteDef[];

function renderSubscription(subscriptionId: string): JsonValue {
  return {
    id: `/subscriptions/${subscriptionId}`,
    authorizationSource: 'RoleBased',
    subscriptionId,
    tenantId: DEV_PRINCIPAL.tenantId,
    displayName: subscriptionId === DEFAULT_SUBSCRIPTION_ID ? 'Nimbus default subscription' : `Nimbus subscription ${subscriptionId}`,
    state: 'Enabled',
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'Nimbus_2024-01-01', spendingLimit: 'Off' },
  };
}

async function listSubscriptions(): Promise<Reply> {
  return json(200, { value: [renderSubscription(DEFAULT_SUBSCRIPTION_ID)] });
}

async function getSubscription(ctx: ArmContext): Promise<Reply> {
  const subscriptionId = param(ctx, 'subscriptionId');
  checkSubscription(subscriptionId);
  return json(200, renderSubscription(subscriptionId));
}

async function listLocations(ctx: ArmContext): Promise<Reply> {
  const subscriptionId = param(ctx, 'subscriptionId');
  checkSubscription(subscriptionId);
  return json(200, {
    value: [{
      id: `/subscriptions/${subscriptionId}/locations/${DEFAULT_LOCATION}`, name: DEFAULT_LOCATION, displayName: 'Local',
      regionalDisplayName: 'Local (Nimbus)', metadata: { regionType: 'Physical', regionCategory: 'Recommended' },
    }],
  });
}

async function listTenants(): Promise<Reply> {
  const tenantId = DEV_PRINCIPAL.tenantId;
  return json(200, { value: [{ id: `/tenants/${tenantId}`, tenantId, tenantCategory: 'Home', displayName: 'Nimbus' }] });
}
