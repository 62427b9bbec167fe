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

/**
 * A compute host (src/compute/service/model.ts HostConfig has the same shape; platform imports nothing
 * from src). `process`: workloads run as ordinary processes (needs nothing installed); `qemu`: real
 * guests (needs qemu-system-x86_64 and the guest image from scripts/build-guest-image.sh).
 */
export interface ComputeHostSetting {
  name: string;
  driver: 'process' | 'qemu';
  /** Memory the host may give to VMs. */
  memoryMiB: number;
  /** The rack the host sits in: fault domains map onto racks. */
  rack: number;
}

export interface ComputeSetting {
  hosts: ComputeHostSetting[];
  /** How often maintenance campaigns are stepped. */
  tickIntervalMs: number;
}

/** A region Nimbus serves (managed disks and snapshots); `zones`: it has availability zones. */
export interface RegionSetting {
  name: string;
  zones: boolean;
}

export interface NimbusConfig {
  host: string;
  blobPort: number;
  /** The same blob endpoint over TLS (the management endpoint's certificate): bearer tokens need HTTPS. */
  blobHttpsPort: number;
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
  /** Regions for managed disks and snapshots, each with its own storage (src/disks/service/regions.ts). */
  regions: RegionSetting[];
  /** Set false to drop the published development principal. */
  devPrincipal: boolean;
  gcIntervalMs: number;
  /** How often each account's lifecycle management policy runs (Azure: about once a day). */
  lifecycleIntervalMs: number;
  /** Compute hosts and the maintenance timer (a config file replaces the whole section). */
  compute: ComputeSetting;
}

export const DEFAULT_CONFIG: NimbusConfig = {
  host: '127.0.0.1',
  blobPort: 10000,
  blobHttpsPort: 10443,
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
  regions: [{ name: 'eastus', zones: true }, { name: 'westus', zones: false }, { name: 'local', zones: false }],
  devPrincipal: true,
  gcIntervalMs: 5 * 60_000,
  lifecycleIntervalMs: 86_400_000,
  compute: {
    hosts: [
      { name: 'host-0', driver: 'process', memoryMiB: 16_384, rack: 0 },
      { name: 'host-1', driver: 'process', memoryMiB: 16_384, rack: 1 },
    ],
    tickIntervalMs: 1000,
  },
};

type Flags = Partial<Record<string, string | boolean>>;

const PORT_KEYS = { 'blob-port': 'blobPort', 'blob-https-port': 'blobHttpsPort', 'arm-port': 'armPort', 'imds-port': 'imdsPort', 'nbd-port': 'nbdPort', 'portal-port': 'portalPort' } as const;

export function loadConfig(flags: Flags, env: NodeJS.ProcessEnv): NimbusConfig {
  const config: NimbusConfig = { ...DEFAULT_CONFIG };
  const file = stringOf(flags.config) ?? env.NIMBUS_CONFIG;
  if (file) Object.assign(config, JSON.parse(readFileSync(file, 'utf8')) as Partial<NimbusConfig>);
  config.compute = parseCompute(config.compute);
  for (const [flag, key] of Object.entries(PORT_KEYS)) {
    const value = stringOf(flags[flag]) ?? env[`NIMBUS_${flag.toUpperCase().replaceAll('-', '_')}`];
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

/** Checks the compute section a config file may have replaced; a missing field takes its default. */
function parseCompute(value: Partial<ComputeSetting>): ComputeSetting {
  const hosts = value.hosts ?? DEFAULT_CONFIG.compute.hosts;
  if (!Array.isArray(hosts) || hosts.length === 0) throw new Error('config compute.hosts: expected a non-empty list of hosts');
  const names = new Set<string>();
  for (const host of hosts) {
    const where = `config compute.hosts[${JSON.stringify(host?.name)}]`;
    if (typeof host?.name !== 'string' || host.name === '' || names.has(host.name)) throw new Error(`${where}: needs a unique name`);
    if (host.driver !== 'process' && host.driver !== 'qemu') throw new Error(`${where}: driver must be process or qemu`);
    if (!Number.isInteger(host.memoryMiB) || host.memoryMiB <= 0) throw new Error(`${where}: memoryMiB must be a positive integer`);
    if (!Number.isInteger(host.rack) || host.rack < 0) throw new Error(`${where}: rack must be an integer >= 0`);
    names.add(host.name);
  }
  const tickIntervalMs = value.tickIntervalMs ?? DEFAULT_CONFIG.compute.tickIntervalMs;
  if (!Number.isInteger(tickIntervalMs) || tickIntervalMs <= 0) throw new Error('config compute.tickIntervalMs: expected a positive integer');
  return { hosts: hosts.map((h) => ({ name: h.name, driver: h.driver, memoryMiB: h.memoryMiB, rack: h.rack })), tickIntervalMs };
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
