// Quick load probe for profiling: PUT then GET 4 KiB at concurrency 16 against a running server.
// usage: node --import tsx bench/probe.ts <port> [seconds]
import { SignedBlobClient } from './client.js';
import { createContainer, putBlockBlob, getBlob } from './blob-ops.js';
import { runClosedLoop, opsPerSecond } from './load.js';

const port = Number(process.argv[2]);
const seconds = Number(process.argv[3] ?? 4);
const mode = process.argv[4] ?? 'both';
const client = new SignedBlobClient(
  { host: '127.0.0.1', port, accountName: 'devstoreaccount1', accountKeyBase64: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==' },
  16,
);
await createContainer(client, `probe${Date.now()}`.slice(0, 20)).catch(() => undefined);
const container = 'probe';
await createContainer(client, container).catch(() => undefined);
const body = Buffer.alloc(4096, 1);
const put = await runClosedLoop({ concurrency: 16, countMax: mode === 'get' ? 2000 : 1_000_000, durationMs: mode === 'get' ? undefined : seconds * 1000, op: (i) => putBlockBlob(client, container, `b${i % 2000}`, body) });
console.log('PUT ops/s', opsPerSecond(put).toFixed(0));
const get = await runClosedLoop({ concurrency: 16, countMax: 1_000_000, durationMs: seconds * 1000, op: async (i) => { await getBlob(client, container, `b${i % 2000}`); } });
console.log('GET ops/s', opsPerSecond(get).toFixed(0));
process.exit(0);
