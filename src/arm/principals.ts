// Service principals that may get tokens from Nimbus's issuer (client credentials grant).
//
// The development principal exists unless configuration turns it off (`"devPrincipal": false`); like
// Azurite's account key, its values are published on purpose so local tools work with no setup:
//
//   tenant id      00000000-0000-0000-0000-000000000001
//   client id      00000000-0000-0000-0000-000000000002
//   client secret  nimbus-dev-secret
//
// More principals come from the config file: `"servicePrincipals": [{ "tenantId", "clientId", "clientSecret" }]`.
import type { NimbusConfig } from '../platform/config.js';
import type { ServicePrincipal } from './tokens.js';

export const DEV_PRINCIPAL: ServicePrincipal = {
  tenantId: '00000000-0000-0000-0000-000000000001',
  clientId: '00000000-0000-0000-0000-000000000002',
  clientSecret: 'nimbus-dev-secret',
};

export function principalsFrom(config: Pick<NimbusConfig, 'devPrincipal' | 'servicePrincipals'>): ServicePrincipal[] {
  return [...(config.devPrincipal ? [DEV_PRINCIPAL] : []), ...config.servicePrincipals];
}
