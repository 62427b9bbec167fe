// Nimbus-only workload: does listing slow down when a blob has many versions?
// Issue target: listing 5,000 entries from a blob with 100,000 versions costs at most 2× listing a
// blob with one version. Measured three ways, each as the median of several timed page fetches:
//   base      include=versions, a container of 5,000 blobs with one version each (5,000 entries)
//   many      include=versions, first 5,000 entries of one blob with N versions
//   current   default listing (no include) of a container where one blob has N versions and
//             4,999 others have one: the N versions must cost nothing
// Versioning is switched on through the management plane with the `nimbus account set` CLI, the
// way a user would. Azurite has no versioning, so the workload measures Nimbus only.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { SignedBlobClient } from './client.js';
import { createContainer, putBlockBlob } from './blob-ops.js';
import { runClosedLoop, seededBytes } from './load.js';
import type { Measurement, WorkloadContext } from './workloads.js';

const execFileAsync = promisify(execFile);
const PAGE = 5_000;
const SAMPLES = 5;

export async function versionsListing(context: WorkloadContext & { dataDir?: string; server?: string }, withClient: <T>(fn: (client: SignedBlobClient) => Promise<T>) => Promise<T>): Promise<Measurement[]> {
  if (context.server !== 'nimbus' || context.dataDir === undefined) return [];
  const { config, log } = context;
  const versionCount = config.scale === 'small' ? 10_000 : 100_000;
  await execFileAsync(process.execPath, ['dist/cli/main.js', 'account', 'set', '--data-dir', context.dataDir, '--versioning', 'on']);
  const payload = seededBytes(256, 9);
  return withClient(async (client) => {
    await createContainer(client, 'vbase');
    await createContainer(client, 'vmany');
    await fill(client, 'vbase', PAGE, (i) => `b${String(i).padStart(6, '0')}`, payload, config.fillConcurrency);
    const started = performance.now();
    await fill(client, 'vmany', versionCount, () => 'a-hot-blob', payload, config.fillConcurrency);
    log(`wrote ${versionCount} versions of one blob in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await fill(client, 'vmany', PAGE - 1, (i) => `b${String(i).padStart(6, '0')}`, payload, config.fillConcurrency);
    const base = await medianMs(() => listPage(client, 'vbase', true, PAGE));
    const many = await medianMs(() => listPage(client, 'vmany', true, PAGE));
    const current = await medianMs(() => listPage(client, 'vmany', false, PAGE));
    log(`list 5,000 entries: one version each ${base.toFixed(1)} ms; one blob with ${versionCount} versions ${many.toFixed(1)} ms; current only ${current.toFixed(1)} ms`);
    return [
      { metric: 'versions.baseListMs', value: base },
      { metric: 'versions.manyListMs', value: many, note: `${versionCount} versions` },
      { metric: 'versions.currentListMs', value: current, note: `${versionCount} versions hidden` },
      { metric: 'versions.ratio', value: Math.max(many, current) / base },
    ];
  });
}

async function fill(client: SignedBlobClient, container: string, count: number, name: (i: number) => string, payload: Buffer, concurrency: number): Promise<void> {
  await runClosedLoop({ concurrency, countMax: count, op: (i) => putBlockBlob(client, container, name(i), payload) });
}

async function listPage(client: SignedBlobClient, container: string, versions: boolean, expected: number): Promise<void> {
  const query: Array<readonly [string, string]> = [['restype', 'container'], ['comp', 'list'], ['maxresults', String(PAGE)]];
  if (versions) query.push(['include', 'versions']);
  const response = await client.send({ method: 'GET', path: `/${container}`, query }, 200, { kind: 'text' });
  const entries = (response.text ?? '').split('<Blob>').length - 1;
  if (entries !== expected) throw new Error(`${container}: listed ${entries} entries, expected ${expected}`);
}

async function medianMs(run: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}
