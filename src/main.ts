// Composition root: builds engine → services → adapters from a config and starts listeners.
// The only place that wires things together; tests call startNimbus() with a ManualClock.
import { createServer } from 'node:http';
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
import { startArmEndpoint } from './arm/listener.js';
import { createBlobHandler } from './blob/http/server.js';
import { SystemClock, every, type Clock } from './platform/clock.js';
import { createLogger, type Logger } from './platform/log.js';
import type { NimbusConfig } from './platform/config.js';
import type { BlobApi } from './blob/service/api.js';
import { close, listen } from './platform/listen.js';

export interface Nimbus {
  blobPort: number;
  blobUrl: string;
  /** Management endpoint (ARM + token issuer), HTTPS: `https://<host>:<armPort>`. */
  armPort: number;
  armUrl: string;
  /** The CA that signed the management endpoint's certificate (trust it: NODE_EXTRA_CA_CERTS). */
  armCaPath: string;
  armCaPem: string;
  /** The static development bearer token, and the file that holds it. */
  armDevToken: string;
  armDevTokenPath: string;
  api: BlobApi;
  /** Runs background work now (due lifecycle policies, purge of expired soft-deleted data, then garbage collection). */
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
  const meta = new SqliteMetaStore({ path: join(config.dataDir, 'meta.sqlite'), durability: config.durability });
  const blocks = new ExtentBlockStore({ dir: join(config.dataDir, 'blocks'), durability: config.durability });
  const builtIns = [...(config.devAccount ? [{ name: DEV_ACCOUNT, keys: [DEV_ACCOUNT_KEY] }] : []), ...config.accounts];
  const accounts = new AccountRegistry(builtIns);
  const managementState = await ManagementState.open(meta);
  const groups = new ResourceGroups(managementState);
  const storageAccounts = new StorageAccounts({ state: managementState, groups, registry: accounts, builtIns });
  const pages = new MetaPageStore();
  const api = createBlobService({ meta, blocks, pages, lifecycle: { intervalMs: config.lifecycleIntervalMs } });
  const blobServer = createServer({ keepAliveTimeout: 65_000 }, createBlobHandler({ api, accounts, clock, wallClock: new SystemClock(), logger }));
  const blobPort = await listen(blobServer, config.host, config.blobPort);
  const arm = await startArmEndpoint({ config, groups, accounts: storageAccounts, blob: api, clock, logger, blobPort })
    .catch(async (error: unknown) => {
      await close(blobServer);
      await meta.close();
      await blocks.close();
      throw error;
    });

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
  const stopPurge = every(60_000, () => {
    runLifecycle()
      .catch((error: unknown) => logger.log('error', 'lifecycle-failed', { error: String(error) }))
      .then(runPurge)
      .catch((error: unknown) => logger.log('error', 'purge-failed', { error: String(error) }));
  });
  const serverFile = join(config.dataDir, 'server.json');
  writeFileSync(serverFile, JSON.stringify({
    pid: process.pid, host: config.host, blobPort,
    armPort: arm.port, armUrl: arm.url, armCaPath: arm.caPath, armDevTokenPath: arm.devTokenPath,
  }, null, 2));

  return {
    blobPort,
    blobUrl: `http://${config.host}:${blobPort}/${DEV_ACCOUNT}`,
    armPort: arm.port,
    armUrl: arm.url,
    armCaPath: arm.caPath,
    armCaPem: arm.caPem,
    armDevToken: arm.devToken,
    armDevTokenPath: arm.devTokenPath,
    api,
    runDue: async () => {
      await runLifecycle();
      await runPurge();
      await runGc();
    },
    async stop() {
      stopGc();
      stopPurge();
      await arm.close();
      await close(blobServer);
      await meta.close();
      await blocks.close();
      rmSync(serverFile, { force: true });
    },
  };
}

