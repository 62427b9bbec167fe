// Starts the management endpoint: loads (or makes) its certificate, token key and development token
// from the data dir, builds the token issuer, and listens with HTTPS on the ARM port. main.ts calls this
// once; everything the endpoint needs arrives as arguments.
import { createServer } from 'node:https';
import type { ResourceGroups } from '../accounts/resource-groups.js';
import type { StorageAccounts } from '../accounts/storage-accounts.js';
import type { BlobApi } from '../blob/service/api.js';
import type { Clock } from '../platform/clock.js';
import type { NimbusConfig } from '../platform/config.js';
import type { Logger } from '../platform/log.js';
import { loadArmCredentials } from './credentials.js';
import { principalsFrom } from './principals.js';
import { createArmHandler } from './server.js';
import { TokenIssuer } from './tokens.js';
import { close, listen } from '../platform/listen.js';

export interface ArmEndpoint {
  port: number;
  /** `https://<host>:<port>` */
  url: string;
  /** The CA certificate clients must trust. */
  caPath: string;
  caPem: string;
  devToken: string;
  devTokenPath: string;
  close(): Promise<void>;
}

export interface ArmEndpointDeps {
  config: NimbusConfig;
  groups: ResourceGroups;
  accounts: StorageAccounts;
  blob: BlobApi;
  clock: Clock;
  logger: Logger;
  blobPort: number;
}

export async function startArmEndpoint(deps: ArmEndpointDeps): Promise<ArmEndpoint> {
  const { config } = deps;
  const host = clientHost(config.host);
  const credentials = await loadArmCredentials(config.dataDir, config.host, deps.clock);
  const tokens = new TokenIssuer({ signingKey: credentials.tokenKey, devToken: credentials.devToken, principals: principalsFrom(config), clock: deps.clock });
  const handler = createArmHandler({
    groups: deps.groups, accounts: deps.accounts, blob: deps.blob, tokens, clock: deps.clock, logger: deps.logger,
    blobEndpoint: (account) => `http://${host}:${deps.blobPort}/${account}/`,
  });
  const server = createServer({ cert: credentials.tlsCertPem, key: credentials.tlsKeyPem, keepAliveTimeout: 65_000 }, handler);
  const port = await listen(server, config.host, config.armPort);
  return {
    port, url: `https://${host}:${port}`, caPath: credentials.caPath, caPem: credentials.caPem,
    devToken: credentials.devToken, devTokenPath: credentials.devTokenPath,
    close: () => close(server),
  };
}

/** The address clients use: a wildcard listen address is reached through loopback. */
function clientHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

