// Starting and stopping the servers under test: Nimbus and Azurite, each on loopback, each persisting to a
// fresh directory.
//
// Both are spawned as `process.execPath <script> ...` so the child pid IS the server's node process: RSS and
// CPU read from /proc/<pid> are the server's own, not an npm or shell wrapper's. Output goes to a log file
// rather than a pipe, so draining server logs never costs the load generator CPU.
//
// Readiness is "the blob port accepts TCP"; stop is SIGTERM, then SIGKILL after 5 s.
// Azurite runs with --disableTelemetry so the benchmark never reaches the network.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEV_ACCOUNT } from './config.js';
import type { BlobEndpoint } from './client.js';

export const SERVER_NAMES = ['nimbus', 'azurite'] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export const SERVER_TITLES: Record<ServerName, string> = { nimbus: 'Nimbus', azurite: 'Azurite' };

export interface RunningServer {
  name: ServerName;
  pid: number;
  endpoint: BlobEndpoint;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const HOST = '127.0.0.1';

export async function startServer(name: ServerName, repoRoot: string, workDir: string): Promise<RunningServer> {
  const dataDir = path.join(workDir, `${name}-data`);
  const logFile = path.join(workDir, `${name}.log`);
  mkdirSync(dataDir, { recursive: true });
  const blobPort = await freePort();
  const args = name === 'nimbus' ? await nimbusArgs(blobPort, dataDir) : azuriteArgs(repoRoot, blobPort, dataDir);
  const logFd = openSync(logFile, 'a');
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: spawn failed`);
  try {
    await waitForPort(child, blobPort, READY_TIMEOUT_MS);
  } catch (error) {
    await stopChild(child);
    throw new Error(`${name} did not become ready: ${String(error)}\n--- ${logFile} (tail) ---\n${tail(logFile)}`);
  }
  const endpoint = { host: HOST, port: blobPort, ...DEV_ACCOUNT };
  return { name, pid, endpoint, dataDir, logFile, stop: () => stopChild(child) };
}

async function nimbusArgs(blobPort: number, dataDir: string): Promise<string[]> {
  const armPort = await freePort();
  const imdsPort = await freePort();
  return [
    // The compiled build (`npm run bench` runs tsc first) started exactly as `npm start` starts it,
    // node flags included (bin/nimbus.js says why), without tsx in memory.
    '--max-semi-space-size=4', 'bin/nimbus.js', 'serve',
    '--blob-port', String(blobPort), '--data-dir', dataDir,
    '--arm-port', String(armPort), '--imds-port', String(imdsPort), '--blob-https-port', '0', '--nbd-port', '0',
  ];
}

function azuriteArgs(repoRoot: string, blobPort: number, dataDir: string): string[] {
  // node_modules/.bin/azurite-blob is a symlink to this script; running it directly keeps the pid ours.
  const script = path.join(repoRoot, 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js');
  return [
    script, '--blobHost', HOST, '--blobPort', String(blobPort), '--location', dataDir,
    '--disableTelemetry', '--skipApiVersionCheck', '--silent',
  ];
}

/** Asks the kernel for a free loopback port. Another process could take it before the server binds; rare. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(child: ChildProcess, port: number, timeoutMs: number): Promise<void> {
  const startMs = performance.now();
  while (performance.now() - startMs < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process exited (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await canConnect(port)) return;
    await sleep(100);
  }
  throw new Error(`port ${port} not accepting connections after ${timeoutMs} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const graceful = await Promise.race([exited.then(() => true), sleep(STOP_GRACE_MS).then(() => false)]);
  if (!graceful) {
    child.kill('SIGKILL');
    await exited;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '(no log)';
  }
}
