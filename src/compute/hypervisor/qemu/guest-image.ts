// Finds the test guest (kernel + initramfs) built by scripts/build-guest-image.sh, building it
// first when it is missing. The script is idempotent and locks its output dir, so concurrent
// callers (parallel test files) are safe. See the script for what the guest contains.
// An image whose manifest has another `format` than GUEST_IMAGE_FORMAT (built by an older script)
// is rebuilt: the script's stamp includes its own hash, so it does not take the old one as current.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HypervisorError } from '../errors.js';

export interface GuestImage {
  readonly dir: string;
  readonly kernelPath: string;
  readonly initrdPath: string;
}

// src/compute/hypervisor/qemu (or dist/compute/hypervisor/qemu) -> repository root
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
export const BUILD_SCRIPT = path.join(REPO_ROOT, 'scripts', 'build-guest-image.sh');

/** Bumped whenever the guest's behaviour changes (2: the OS disk writer, nimbus-disk). */
export const GUEST_IMAGE_FORMAT = 2;

/**
 * Where the guest's disk writer (nimbus-disk) puts its blocks on /dev/vda, 4 KiB each, space-padded
 * text ending in a newline: the marker "nimbus-disk n=<n> vm=<name>" and record n "nimbus-rec n=<n>
 * vm=<name>" in a ring of `records` blocks. Record n is written (fsync) before marker n.
 */
export const GUEST_DISK_LAYOUT = {
  blockBytes: 4096,
  markerOffset: 1024 * 1024,
  recordsOffset: 2 * 1024 * 1024,
  records: 512,
  recordOffset(n: number): number {
    return this.recordsOffset + ((n - 1) % this.records) * this.blockBytes;
  },
} as const;

export function defaultGuestDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['NIMBUS_GUEST_DIR'] ?? path.join(REPO_ROOT, '.nimbus-cache', 'guest');
}

export async function ensureGuestImage(dir: string = defaultGuestDir()): Promise<GuestImage> {
  const image = { dir, kernelPath: path.join(dir, 'vmlinuz'), initrdPath: path.join(dir, 'initrd.img') };
  if (manifestFormat(dir) === GUEST_IMAGE_FORMAT && existsSync(image.kernelPath) && existsSync(image.initrdPath)) return image;
  const { code, stderr } = await run('bash', [BUILD_SCRIPT, dir]);
  if (code !== 0) throw new HypervisorError('HypervisorUnavailable', { reason: `guest image build failed: ${stderr.trim().slice(-500)}` });
  return image;
}

function manifestFormat(dir: string): number | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { format?: unknown };
    return typeof manifest.format === 'number' ? manifest.format : 1;
  } catch {
    return undefined;
  }
}

function run(command: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (error) => resolve({ code: -1, stderr: String(error) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}
