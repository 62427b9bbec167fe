// Finds the test guest (kernel + initramfs) built by scripts/build-guest-image.sh, building it
// first when it is missing. The script is idempotent and locks its output dir, so concurrent
// callers (parallel test files) are safe. See the script for what the guest contains.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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

export function defaultGuestDir(env: NodeJS.ProcessEnv = process.env): string {
  return env['NIMBUS_GUEST_DIR'] ?? path.join(REPO_ROOT, '.nimbus-cache', 'guest');
}

export async function ensureGuestImage(dir: string = defaultGuestDir()): Promise<GuestImage> {
  const image = { dir, kernelPath: path.join(dir, 'vmlinuz'), initrdPath: path.join(dir, 'initrd.img') };
  if (existsSync(path.join(dir, 'manifest.json')) && existsSync(image.kernelPath) && existsSync(image.initrdPath)) return image;
  const { code, stderr } = await run('bash', [BUILD_SCRIPT, dir]);
  if (code !== 0) throw new HypervisorError('HypervisorUnavailable', { reason: `guest image build failed: ${stderr.trim().slice(-500)}` });
  return image;
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
