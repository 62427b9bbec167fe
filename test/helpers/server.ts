// Starts a real Nimbus on an ephemeral port with a fresh data dir and a ManualClock, and hands
// back SDK clients pointed at it. Every integration test goes through here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { startNimbus, type Nimbus } from '../../src/main.js';
import { DEFAULT_CONFIG, type NimbusConfig } from '../../src/platform/config.js';
import { ManualClock } from '../../src/platform/clock.js';
import { createLogger } from '../../src/platform/log.js';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from '../../src/blob/service/accounts.js';

export interface TestServer {
  nimbus: Nimbus;
  blobUrl: string;
  /** Management endpoint (HTTPS); its CA is armCaPem (see helpers/arm.ts for SDK clients). */
  armUrl: string;
  armCaPem: string;
  dataDir: string;
  clock: ManualClock;
  credential: StorageSharedKeyCredential;
  serviceClient: BlobServiceClient;
  connectionString: string;
  runDue(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestServer(overrides: Partial<NimbusConfig> = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'nimbus-test-'));
  const clock = new ManualClock();
  const config: NimbusConfig = { ...DEFAULT_CONFIG, blobPort: 0, blobHttpsPort: 0, armPort: 0, imdsPort: 0, nbdPort: 0, durability: 'process', ...overrides, dataDir };
  const nimbus = await startNimbus(config, { clock, logger: createLogger('warn') });
  const credential = new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY);
  const blobUrl = nimbus.blobUrl;
  const serviceClient = new BlobServiceClient(blobUrl, credential, { retryOptions: { maxTries: 1 } });
  return {
    nimbus, blobUrl, armUrl: nimbus.armUrl, armCaPem: nimbus.armCaPem, dataDir, clock, credential, serviceClient,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${blobUrl};`,
    runDue: () => nimbus.runDue(),
    async stop() {
      await nimbus.stop();
      if (!overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
