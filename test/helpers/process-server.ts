// Runs the real `nimbus serve` as a child process (node --import tsx src/cli/main.ts), so a test
// can kill -9 it and start it again on the same data dir. In-process servers (helpers/server.ts)
// cannot show what survives a crash: their page cache, SQLite handles and pending promises die
// with the test itself.
//
// The port is chosen here (bind port 0, read it, close) because a child listening on port 0 would
// have to tell us its port; a port stolen between close and listen makes the child exit with
// EADDRINUSE, and start() then retries on a fresh one.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUTPUT_KEPT_CHARS = 64 * 1024;
const START_ATTEMPTS = 3;

export interface ProcessServer {
  port: number;
  blobUrl: string;
  pid: number;
  /** The last 64 KiB of the child's stdout and stderr, for failure messages. */
  output(): string;
  /** SIGKILL, then wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface ProcessServerOptions {
  dataDir: string;
  /** Extra `serve` flags, e.g. ['--durability', 'process']. */
  args?: string[];
  readyTimeoutMs?: number;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startProcessServer(options: ProcessServerOptions): Promise<ProcessServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return await startOnPort(port, options);
    } catch (error) {
      lastError = error;
      if (!(error instanceof Error && /EADDRINUSE/.test(error.message))) throw error;
    }
  }
  throw lastError;
}

async function startOnPort(port: number, options: ProcessServerOptions): Promise<ProcessServer> {
  const args = [
    '--import', 'tsx', 'src/cli/main.ts', 'serve',
    '--blob-port', String(port), '--blob-https-port', '0', '--arm-port', '0', '--imds-port', '0', '--data-dir', options.dataDir, '--quiet',
    ...(options.args ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (data: Buffer) => {
    output = (output + data.toString('utf8')).slice(-OUTPUT_KEPT_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('nimbus child process did not start');
  try {
    await waitForPort(port, child, options.readyTimeoutMs ?? 30_000, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  const killNow = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    pid,
    blobUrl: `http://127.0.0.1:${port}/devstoreaccount1`,
    output: () => output,
    kill: killNow,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const graceful = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!graceful) await killNow();
    },
  };
}

/** Polls until the port accepts a TCP connection; fails early if the child exits first. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nimbus exited (code ${child.exitCode}, signal ${child.signalCode}) before listening:\n${output()}`);
    }
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`nimbus did not listen on ${port} within ${timeoutMs} ms:\n${output()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
