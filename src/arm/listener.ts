// Starts the management endpoint: listens with HTTPS on the ARM port with the certificate and token
// issuer that loadArmIdentity made from the data dir. main.ts calls both once (the identity first: the
// blob endpoint's HTTPS listener and bearer-token checks share it); everything arrives as arguments.
import { createServer } from 'node:https';
import type { ResourceGroups } from '../accounts/resource-groups.js';
import type { StorageAccounts } from '../accounts/storage-accounts.js';
import type { BlobApi } from '../blob/service/api.js';
import type { DiskService } from '../disks/service/disk-service.js';
import type { ArmCompute } from './resources/compute-common.js';
import type { Clock } from '../platform/clock.js';
import type { NimbusConfig } from '../platform/config.js';
import type { Logger } from '../platform/log.js';
import { loadArmCredentials, type ArmCredentials } from './credentials.js';
import { principalsFrom } from './principals.js';
import { createArmHandler } from './server.js';
import { TokenIssuer } from './tokens.js';
import type { RoleAssignments } from '../authz/role-assignments.js';
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
  disks: DiskService;
  clock: Clock;
  logger: Logger;
  blobPort: number;
  identity: ArmIdentity;
  roleAssignments: RoleAssignments;
  compute: ArmCompute;
}

/** The data dir's TLS material and the token issuer built on its signing key. */
export interface ArmIdentity {
  credentials: ArmCredentials;
  tokens: TokenIssuer;
}

export async function loadArmIdentity(config: NimbusConfig, clock: Clock): Promise<ArmIdentity> {
  const credentials = await loadArmCredentials(config.dataDir, config.host, clock);
  const tokens = new TokenIssuer({ signingKey: credentials.tokenKey, devToken: credentials.devToken, principals: principalsFrom(config), clock });
  return { credentials, tokens };
}

export async function startArmEndpoint(deps: ArmEndpointDeps): Promise<ArmEndpoint> {
  const { config } = deps;
  const host = clientHost(config.host);
  const { credentials, tokens } = deps.identity;
  const handler = createArmHandler({
    groups: deps.groups, accounts: deps.accounts, blob: deps.blob, disks: deps.disks, tokens, roleAssignments: deps.roleAssignments, compute: deps.compute, clock: deps.clock, logger: deps.logger,
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
export function clientHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

