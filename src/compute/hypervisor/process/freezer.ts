// How to freeze a process tree on this host, detected once at start-up, best first
// (measured in shared/spec/compute-notes.md §4: all freeze/thaw in under 2 ms):
//   cgroup2-freeze    a child cgroup under the cgroup2 mount; write 1/0 to cgroup.freeze and
//                     wait for cgroup.events to say frozen 1/0. Freezes children too.
//   cgroup1-freezer   a child of the v1 freezer hierarchy; freezer.state FROZEN/THAWED.
//   sigstop           SIGSTOP/SIGCONT to the process group. Visible to the process (SIGCONT
//                     handler, parent's waitpid) and misses children that left the group.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { delay, monotonicMs } from '../../../platform/clock.js';
import { HypervisorError } from '../errors.js';

export type FreezeMechanism = 'cgroup2-freeze' | 'cgroup1-freezer' | 'sigstop';

export interface Freezer {
  readonly mechanism: FreezeMechanism;
  /** Puts `pid` (a process-group leader) under this freezer; returns a handle for it. */
  adopt(name: string, pid: number): FrozenGroup;
}

export interface FrozenGroup {
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  release(): void;
}

export function detectFreezer(mounts = readFileSync('/proc/mounts', 'utf8')): Freezer {
  const cgroup2 = mounts.split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2')?.[1];
  if (cgroup2 && canCreate(path.join(cgroup2, 'nimbus-probe'), 'cgroup.freeze')) return cgroupFreezer('cgroup2-freeze', cgroup2);
  const v1 = mounts.split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup' && (f[3] ?? '').split(',').includes('freezer'))?.[1];
  if (v1 && canCreate(path.join(v1, 'nimbus-probe'), 'freezer.state')) return cgroupFreezer('cgroup1-freezer', v1);
  return sigstopFreezer();
}

function canCreate(dir: string, controlFile: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    readFileSync(path.join(dir, controlFile));
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

function cgroupFreezer(mechanism: 'cgroup2-freeze' | 'cgroup1-freezer', root: string): Freezer {
  const v2 = mechanism === 'cgroup2-freeze';
  return {
    mechanism,
    adopt(name, pid) {
      const dir = path.join(root, 'nimbus', name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
      const set = async (frozen: boolean): Promise<void> => {
        if (v2) writeFileSync(path.join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
        else writeFileSync(path.join(dir, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED');
        await waitUntil(() => (v2 ? readFileSync(path.join(dir, 'cgroup.events'), 'utf8').includes(`frozen ${frozen ? 1 : 0}`)
          : readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim() === (frozen ? 'FROZEN' : 'THAWED')), name);
      };
      return {
        freeze: () => set(true),
        thaw: () => set(false),
        release: () => {
          try {
            rmdirSync(dir); // only succeeds once the workload has exited; a leftover empty cgroup is harmless
          } catch {
            /* still populated */
          }
        },
      };
    },
  };
}

function sigstopFreezer(): Freezer {
  return {
    mechanism: 'sigstop',
    adopt(_name, pid) {
      return {
        freeze: async () => void process.kill(-pid, 'SIGSTOP'),
        thaw: async () => void process.kill(-pid, 'SIGCONT'),
        release: () => undefined,
      };
    },
  };
}

async function waitUntil(done: () => boolean, name: string): Promise<void> {
  const deadline = monotonicMs() + 5000;
  while (!done()) {
    if (monotonicMs() > deadline) throw new HypervisorError('VmNotRunning', { instance: name, reason: 'freezer did not settle' });
    await delay(0);
  }
}
