// Configuration: defaults, then a JSON config file, then NIMBUS_* environment variables, then
// command-line flags (each later source wins). Listener flags for later capabilities (ARM, IMDS,
// NBD, portal) are accepted now so scripts written today keep working.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LogLevel } from './log.js';

export interface AccountSetting {
  name: string;
  keys: string[];
}

/** A service principal that may get management tokens (client credentials grant). */
export interface ServicePrincipalSetting {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

export interface NimbusConfig {
  host: string;
  blobPort: number;
  armPort: number;
  imdsPort: number;
  nbdPort: number;
  portalPort: number;
  dataDir: string;
  logLevel: LogLevel;
  /** 'fsync': acknowledged writes survive power loss; 'process': only process crashes. */
  durability: 'fsync' | 'process';
  /** Accounts besides the development account. */
  accounts: AccountSetting[];
  /** Set false to drop devstoreaccount1. */
  devAccount: boolean;
  /** Principals besides the development one (src/arm/principals.ts). */
  servicePrincipals: ServicePrincipalSetting[];
  /** Set false to drop the published development principal. */
  devPrincipal: boolean;
  gcIntervalMs: number;
  /** How often each account's lifecycle management policy runs (Azure: about once a day). */
  lifecycleIntervalMs: number;
}

export const DEFAULT_CONFIG: NimbusConfig = {
  host: '127.0.0.1',
  blobPort: 10000,
  armPort: 10080,
  imdsPort: 10169,
  nbdPort: 10809,
  portalPort: 10081,
  dataDir: '.nimbus',
  logLevel: 'info',
  durability: 'fsync',
  accounts: [],
  devAccount: true,
  servicePrincipals: [],
  devPrincipal: true,
  gcIntervalMs: 5 * 60_000,
  lifecycleIntervalMs: 86_400_000,
};

type Flags = Partial<Record<string, string | boolean>>;

const PORT_KEYS = { 'blob-port': 'blobPort', 'arm-port': 'armPort', 'imds-port': 'imdsPort', 'nbd-port': 'nbdPort', 'portal-port': 'portalPort' } as const;

export function loadConfig(flags: Flags, env: NodeJS.ProcessEnv): NimbusConfig {
  const config: NimbusConfig = { ...DEFAULT_CONFIG };
  const file = stringOf(flags.config) ?? env.NIMBUS_CONFIG;
  if (file) Object.assign(config, JSON.parse(readFileSync(file, 'utf8')) as Partial<NimbusConfig>);
  for (const [flag, key] of Object.entries(PORT_KEYS)) {
    const value = stringOf(flags[flag]) ?? env[`NIMBUS_${flag.toUpperCase().replace('-', '_')}`];
    if (value !== undefined) config[key] = parsePort(value, flag);
  }
  config.host = stringOf(flags.host) ?? env.NIMBUS_HOST ?? config.host;
  config.dataDir = resolve(stringOf(flags['data-dir']) ?? env.NIMBUS_DATA_DIR ?? config.dataDir);
  const level = stringOf(flags['log-level']) ?? env.NIMBUS_LOG_LEVEL ?? (flags.verbose ? 'debug' : undefined);
  if (level) config.logLevel = parseLevel(level);
  const durability = stringOf(flags.durability) ?? env.NIMBUS_DURABILITY;
  if (durability) config.durability = durability === 'process' ? 'process' : 'fsync';
  return config;
}

function stringOf(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--${flag}: not a port: ${value}`);
  return port;
}

function parseLevel(value: string): LogLevel {
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new Error(`--log-level: expected debug|info|warn|error, got ${value}`);
}
