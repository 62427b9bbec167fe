// Composition root: builds engine → services → adapters from a config and starts listeners.
// The only place that wires things together; tests call startNimbus() with a ManualClock.
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteMetaStore } from './engine/meta/sqlite-meta-store.js';
import { ExtentBlockStore } from './engine/blocks/extent-block-store.js';
import { collectGarbage } from './engine/gc.js';
import { MetaPageStore } from './engine/pages/meta-page-store.js';
import { createBlobService } from './blob/service/blob-service.js';
import { AccountRegistry, DEV_ACCOUNT, DEV_ACCOUNT_KEY } from './blob/service/accounts.js';
import { ManagementState } from './accounts/state.js';
import { ResourceGroups } from './accounts/resource-groups.js';
import { StorageAccounts } from './accounts/storage-accounts.js';
import { clientHost, loadArmIdentity, startArmEndpoint } from './arm/listener.js';
import { DEV_PRINCIPAL } from './arm/principals.js';
import { RoleAssignments } from './authz/role-assignments.js';
import { UserDelegationKeys } from './authz/user-delegation-keys.js';
import type { BlobIdentity } from './blob/http/identity.js';
import { createBlobHandler } from './blob/http/server.js';
import { SystemClock, every, type Clock } from './platform/clock.js';
import { createLogger, type Logger } from './platform/log.js';
import type { NimbusConfig } from './platform/config.js';
import type { BlobApi } from './blob/service/api.js';
import { close, listen } from './platform/listen.js';
import { Teardown } from './platform/teardown.js';
import { DiskState } from './disks/service/state.js';
import { Regions } from './disks/service/regions.js';
import { DiskService } from './disks/service/disk-service.js';
import { DiskNbdExports } from './disks/nbd/disk-exports.js';
import { vmDiskPort } from './disks/service/vm-disks.js';
import { createNbdServer } from './disks/nbd/server.js';
import { createCompute, type Compute } from './compute/compose.js';
import type { ArmCompute } from './arm/resources/compute-common.js';
import { VmProfiles } from './arm/resources/vm-profiles.js';

export interface Nimbus {
  blobPort: number;
  blobUrl: string;
  /** The same blob endpoint over HTTPS (management endpoint's certificate): where bearer tokens work. */
  blobHttpsPort: number;
  /** `https://<host>:<blobHttpsPort>/devstoreaccount1` */
  blobHttpsUrl: string;
  /** Management endpoint (ARM + token issuer), HTTPS: `https://<host>:<armPort>`. */
  armPort: number;
  armUrl: string;
  /** The CA that signed the management endpoint's certificate (trust it: NODE_EXTRA_CA_CERTS). */
  armCaPath: string;
  armCaPem: string;
  /** IMDS (Instance Metadata Service) main port: `http://<host>:<imdsPort>/metadata/...?vm=<name>`. */
  imdsPort: number;
  /** Hosts, VMs, availability sets, maintenance (src/compute/compose.ts). */
  compute: Compute;
  /** The static development bearer token, and the file that holds it. */
  armDevToken: string;
  armDevTokenPath: string;
  api: BlobApi;
  /** Managed disks and snapshots (the service behind Microsoft.Compute/disks, /snapshots and NBD). */
  disks: DiskService;
  /** NBD endpoint serving disks: TCP port, and the unix socket in the data dir. */
  nbdPort: number;
  nbdSocketPath: string;
  /** Runs background work now (due maintenance steps, then due lifecycle policies, purge of expired soft-deleted data, then garbage collection). */
  runDue(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
}

export async function startNimbus(config: NimbusConfig, options: StartOptions = {}): Promise<Nimbus> {
  const clock = options.clock ?? new SystemClock();
  const logger = options.logger ?? createLogger(config.logLevel);
  mkdirSync(config.dataDir, { recursive: true });
  const teardown = new Teardown();
  const meta = new SqliteMetaStore({
    path: join(config.dataDir, 'meta.sqlite'), durability: config.durability,
    onWarning: (message) => logger.log('warn', 'metadata', { message }),
  });
  teardown.push(() => meta.close());
  const blocks = new ExtentBlockStore({ dir: join(config.dataDir, 'blocks'), durability: config.durability });
  teardown.push(() => blocks.close());
  return teardown.guard(() => startServices(config, clock, logger, meta, blocks, teardown));
}

async function startServices(
  config: NimbusConfig, clock: Clock, logger: Logger, meta: SqliteMetaStore, blocks: ExtentBlockStore, teardown: Teardown,
): Promise<Nimbus> {
  const builtIns = [...(config.devAccount ? [{ name: DEV_ACCOUNT, keys: [DEV_ACCOUNT_KEY] }] : []), ...config.accounts];
  const accounts = new AccountRegistry(builtIns);
  const managementState = await ManagementState.open(meta);
  const groups = new ResourceGroups(managementState);
  const storageAccounts = new StorageAccounts({ state: managementState, groups, registry: accounts, builtIns });
  const pages = new MetaPageStore();
  const api = createBlobService({ meta, blocks, pages, lifecycle: { intervalMs: config.lifecycleIntervalMs } });
  // Bearer tokens and RBAC: one token issuer and TLS certificate (data dir) for the management endpoint
  // and the blob endpoint's HTTPS listener. The development principal owns all blob data (README).
  const armIdentity = await loadArmIdentity(config, clock);
  const roleAssignments = await RoleAssignments.open(meta, [DEV_PRINCIPAL.clientId]);
  // The challenge names the issuer; its port is known once the management endpoint listens (0 in tests).
  let issuerUrl = `https://${clientHost(config.host)}:${config.armPort}`;
  const blobIdentity: BlobIdentity = {
    tokens: armIdentity.tokens,
    roleAssignments,
    userDelegationKeys: new UserDelegationKeys(armIdentity.credentials.tokenKey),
    locateAccount: (name) => storageAccounts.find(name),
    get issuerUrl() { return issuerUrl; },
    tenantId: DEV_PRINCIPAL.tenantId,
    devIdentity: { objectId: DEV_PRINCIPAL.clientId, tenantId: DEV_PRINCIPAL.tenantId },
  };
  const blobHandler = createBlobHandler({ api, accounts, clock, wallClock: new SystemClock(), logger, identity: blobIdentity });
  const blobServer = createServer({ keepAliveTimeout: 65_000 }, blobHandler);
  const blobHttpsServer = createHttpsServer(
    { cert: armIdentity.credentials.tlsCertPem, key: armIdentity.credentials.tlsKeyPem, keepAliveTimeout: 65_000 }, blobHandler,
  );
  const blobPort = await listen(blobServer, config.host, config.blobPort);
  teardown.push(() => close(blobServer));
  const blobHttpsPort = await listen(blobHttpsServer, config.host, config.blobHttpsPort);
  teardown.push(() => close(blobHttpsServer));
  // Managed disks: each region's storage is an internal account on the blob endpoint (src/disks/service/regions.ts).
  const diskState = await DiskState.open(meta);
  const regions = await Regions.open(config.regions, diskState, accounts);
  const disks = new DiskService({ api, state: diskState, regions, groups, blobBase: `http://${clientHost(config.host)}:${blobPort}`, logger }, clock);
  teardown.push(() => disks.settleCopies());
  // NBD: disks served to VMs and tools (qemu-io, qemu-nbd, nbd-client) over TCP and a unix socket.
  // Listening before compute exists: a VM's OS disk is attached through it as soon as the VM starts.
  const nbd = createNbdServer({ meta, blocks, pages, exports: new DiskNbdExports(disks, meta, clock), logger });
  const nbdSocketPath = join(config.dataDir, 'nbd.sock');
  teardown.push(() => nbd.close());
  const nbdPort = await nbd.listenTcp(config.host, config.nbdPort);
  await nbd.listenUnix(nbdSocketPath);
  // Compute: hosts from config.compute, the IMDS main listener on config.imdsPort, maintenance stepped by
  // its own timer (and by runDue). Definitions persist in the MetaStore; running VMs do not outlive us.
  // OS disks: attached in the disk service, reached by QEMU on the NBD unix socket.
  const compute = await createCompute({
    clock, logger, meta, host: config.host, imdsPort: config.imdsPort, runDir: join(config.dataDir, 'compute'),
    hosts: config.compute.hosts, tickIntervalMs: config.compute.tickIntervalMs,
    disks: vmDiskPort(disks, { type: 'unix', path: nbdSocketPath }, clock),
  });
  teardown.push(() => compute.stop()); // guests stop before NBD closes: a running QEMU must not lose its disk
  const armCompute: ArmCompute = { service: compute.service, maintenance: compute.maintenance, vmProfiles: await VmProfiles.open(meta) };
  const arm = await startArmEndpoint({
    disks,
    compute: armCompute,
    config, groups, accounts: storageAccounts, blob: api, clock, logger, blobPort, identity: armIdentity, roleAssignments,
  });
  teardown.push(() => arm.close());
  issuerUrl = arm.url;

  // Background work is a step the schedulers below (or a test, after moving its clock) call.
  const runGc = async () => {
    const report = await collectGarbage(meta, blocks);
    if (report.extentsRetired > 0) logger.log('info', 'gc', { ...report });
  };
  const runPurge = async () => {
    const purged = await api.purgeExpired(clock.nowMs());
    if (purged.entries + purged.containers > 0) logger.log('info', 'purge', { ...purged });
  };
  // Lifecycle management: each account's policy runs once per lifecycleIntervalMs (checked every minute).
  const runLifecycle = async () => {
    for (const report of await api.runLifecycleDue(clock.nowMs())) {
      logger.log('info', 'lifecycle', { account: report.account, ...report.counts, objectsScanned: report.objectsScanned });
    }
  };
  await runGc();
  const stopGc = every(config.gcIntervalMs, () => {
    runGc().catch((error: unknown) => logger.log('error', 'gc-failed', { error: String(error) }));
  });
  teardown.push(stopGc);
  const stopPurge = every(60_000, () => {
    runLifecycle()
      .catch((error: unknown) => logger.log('error', 'lifecycle-failed', { error: String(error) }))
      .then(runPurge)
      .catch((error: unknown) => logger.log('error', 'purge-failed', { error: String(error) }));
  });
  teardown.push(stopPurge);
  const serverFile = join(config.dataDir, 'server.json');
  teardown.push(() => rmSync(serverFile, { force: true }));
  writeFileSync(serverFile, JSON.stringify({
    pid: process.pid, host: config.host, blobPort, blobHttpsPort,
    armPort: arm.port, armUrl: arm.url, armCaPath: arm.caPath, armDevTokenPath: arm.devTokenPath, imdsPort: compute.imdsPort,
  }, null, 2));

  return {
    blobPort,
    blobUrl: `http://${config.host}:${blobPort}/${DEV_ACCOUNT}`,
    blobHttpsPort,
    blobHttpsUrl: `https://${clientHost(config.host)}:${blobHttpsPort}/${DEV_ACCOUNT}`,
    armPort: arm.port,
    armUrl: arm.url,
    armCaPath: arm.caPath,
    armCaPem: arm.caPem,
    imdsPort: compute.imdsPort,
    compute,
    armDevToken: arm.devToken,
    armDevTokenPath: arm.devTokenPath,
    api,
    disks,
    nbdPort,
    nbdSocketPath,
    runDue: async () => {
      await compute.runDue();
      await runLifecycle();
      await runPurge();
      await runGc();
    },
    stop: () => teardown.run(),
  };
}

