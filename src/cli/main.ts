// The `nimbus` command. `nimbus serve` starts every listener with embedded defaults; `nimbus account …`
// reads and flips a running server's data-protection switches through its management endpoint; `nimbus maintenance …`
// starts, shows and cancels host-update campaigns (src/cli/maintenance.ts).
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config.js';
import { startNimbus } from '../main.js';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from '../blob/service/accounts.js';
import { DEV_PRINCIPAL } from '../arm/principals.js';
import { ACCOUNT_USAGE, accountCommand } from './account.js';
import { ArmCallError, CliError } from './arm-client.js';
import { LIFECYCLE_USAGE, lifecycleCommand } from './lifecycle.js';
import { USAGE_USAGE, usageCommand } from './usage.js';
import { MAINTENANCE_USAGE, maintenanceCommand } from './maintenance.js';

const USAGE = `usage: nimbus serve [--data-dir DIR] [--host HOST] [--blob-port N] [--blob-https-port N] [--arm-port N] [--imds-port N]
                    [--nbd-port N] [--portal-port N] [--config FILE] [--log-level debug|info|warn|error] [--verbose]
                    [--durability fsync|process]
Environment: NIMBUS_DATA_DIR, NIMBUS_HOST, NIMBUS_BLOB_PORT, NIMBUS_BLOB_HTTPS_PORT, NIMBUS_ARM_PORT, NIMBUS_IMDS_PORT, NIMBUS_NBD_PORT,
             NIMBUS_PORTAL_PORT, NIMBUS_CONFIG, NIMBUS_LOG_LEVEL, NIMBUS_DURABILITY
${ACCOUNT_USAGE}
${LIFECYCLE_USAGE}
${USAGE_USAGE}
${MAINTENANCE_USAGE}`;

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' }, host: { type: 'string' }, 'blob-port': { type: 'string' }, 'blob-https-port': { type: 'string' },
      'arm-port': { type: 'string' }, 'imds-port': { type: 'string' }, 'nbd-port': { type: 'string' },
      'portal-port': { type: 'string' }, config: { type: 'string' }, 'log-level': { type: 'string' },
      verbose: { type: 'boolean' }, quiet: { type: 'boolean' }, durability: { type: 'string' },
    },
  });
  const config = loadConfig(values, process.env);
  const nimbus = await startNimbus(config);
  const blobEndpoint = `http://${config.host}:${nimbus.blobPort}/${DEV_ACCOUNT}`;
  if (!values.quiet) {
    process.stdout.write(
      [
        `Nimbus is running (data in ${config.dataDir})`,
        `  Blob endpoint:  ${blobEndpoint}   (HTTPS, for bearer tokens: ${nimbus.blobHttpsUrl})`,
        `  Connection string (development account):`,
        `    DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`,
        `  or simply: UseDevelopmentStorage=true`,
        `  Management (ARM) endpoint: ${nimbus.armUrl}   (token issuer: ${nimbus.armUrl}/{tenant}/oauth2/v2.0/token)`,
        `    trust its certificate:   NODE_EXTRA_CA_CERTS=${nimbus.armCaPath}`,
        `    development principal:   tenant ${DEV_PRINCIPAL.tenantId}, client ${DEV_PRINCIPAL.clientId}, secret ${DEV_PRINCIPAL.clientSecret}`,
        `    development token:       Authorization: Bearer $(cat ${nimbus.armDevTokenPath})`,
        `  IMDS endpoint:  http://${config.host}:${nimbus.imdsPort}/metadata/instance?api-version=2021-02-01&vm=<name>   (header Metadata: true;`,
        `    guests on qemu hosts use http://169.254.169.254; compute hosts: ${config.compute.hosts.map((h) => `${h.name} (${h.driver})`).join(', ')})`,
        '',
      ].join('\n'),
    );
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`Nimbus stopping (${signal})\n`);
    nimbus.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'serve' || command === undefined) return serve(rest);
  if (command === 'account') return accountCommand(rest, process.env, (line) => process.stdout.write(`${line}\n`));
  if (command === 'maintenance') return maintenanceCommand(rest, process.env, (line) => process.stdout.write(`${line}\n`));
  if (command === 'lifecycle') return lifecycleCommand(rest, process.env, (line) => process.stdout.write(`${line}\n`));
  if (command === 'usage') return usageCommand(rest, process.env, (line) => process.stdout.write(`${line}\n`));
  process.stderr.write(`${USAGE}\n`);
  process.exit(command === 'help' || command === '--help' ? 0 : 2);
}

main().catch((error: unknown) => {
  // Usage mistakes exit 2; a refused or failed operation exits 1. Either way one clear line.
  const usage = (error instanceof CliError && error.exitCode === 2)
    || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
  const message = error instanceof ArmCallError ? `the server refused: ${error.message}` : error instanceof Error ? error.message : String(error);
  process.stderr.write(`nimbus: ${message}\n`);
  process.exit(usage ? 2 : 1);
});
