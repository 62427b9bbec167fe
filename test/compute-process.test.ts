// The process hypervisor driver: a process-backed instance (not a VM). Goal: freezing stops all
// progress, thawing resumes the same process, an in-place update keeps it resident, and nothing
// claims to be a VM (isolation 'none', pauses are 'process-freeze', clock sync 'not-applicable').
// Method: a shell workload that prints a counter every 10 ms; count lines while frozen and after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProcessDriver } from '../src/compute/hypervisor/process/driver.js';
import { detectFreezer } from '../src/compute/hypervisor/process/freezer.js';
import type { VmSpec } from '../src/compute/hypervisor/driver.js';
import { delay } from '../src/platform/clock.js';

const workload = (vmId: string): VmSpec => ({
  vmId, memoryMiB: 16, cpus: 1, disks: [],
  boot: { kind: 'command', command: 'sh', args: ['-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done'] },
});

const lastCount = (file: string): number => {
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return Number(lines.at(-1) ?? 0);
};

/**
 * Waits (up to 10 s) for the heartbeat to pass `than`. On a loaded 2-core machine (QEMU guests in
 * other test files) a thawed process can wait a while for a CPU; a fixed sleep made this flaky.
 */
/**
 * At least `ms` as performance.now() measures it. A 200 ms setTimeout can be seen ~1 ms short by
 * performance.now() (libuv times timers from its cached millisecond loop clock), which made the
 * `hostWorkMs >= 200` check below fail once in CI.
 */
async function delayAtLeast(ms: number): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < ms) await delay(Math.max(1, Math.ceil(ms - (performance.now() - start))));
}

async function progressed(output: string, than: number): Promise<boolean> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (lastCount(output) > than) return true;
    await delay(50);
  }
  return false;
}

for (const [label, freezer] of [['detected', detectFreezer()], ['sigstop', detectFreezer('')]] as const) {
  test(`process (${label}: ${freezer.mechanism}): freeze stops progress, in-place update keeps the same process`, async (t) => {
    const runDir = mkdtempSync(path.join(tmpdir(), 'nimbus-process-'));
    const driver = new ProcessDriver({ runDir, freezer });
    assert.equal(driver.capabilities.isolation, 'none');
    assert.equal(driver.capabilities.pauseMechanism, freezer.mechanism);
    const { vm } = await driver.create(workload(`proc-${label}`));
    const output = vm.logs.consolePath ?? assert.fail('process instance has an output log');
    try {
      await delay(200);
      const pause = await driver.pause(vm);
      assert.equal(pause.pauseKind, 'process-freeze');
      await delay(150); // anything already in flight lands
      const frozenAt = lastCount(output);
      await delay(300);
      assert.equal(lastCount(output), frozenAt, 'no progress while frozen');
      const resume = await driver.resume(vm);
      assert.ok(await progressed(output, frozenAt), 'progress after thaw');
      t.diagnostic(`freeze ${pause.tookMs.toFixed(2)} ms, thaw ${resume.tookMs.toFixed(2)} ms`);

      const pid = vm.pid();
      const update = await driver.inPlaceUpdate(vm, { hostWork: () => delayAtLeast(200) });
      assert.equal(update.pauseKind, 'process-freeze');
      assert.equal(update.mode, 'freeze-thaw');
      assert.equal(update.pidAfter, pid, 'the same process, still resident');
      assert.ok(update.pauseMs >= 200 && update.hostWorkMs >= 200);
      const beforeWait = lastCount(output);
      assert.ok(await progressed(output, beforeWait), 'progress after the update');
      t.diagnostic(`in-place update: pause ${update.pauseMs.toFixed(1)} ms of which host work ${update.hostWorkMs.toFixed(1)} ms`);

      assert.deepEqual((await driver.syncClock(vm)).kind, 'not-applicable');
      assert.equal(await driver.measureClock(vm), null);
    } finally {
      await driver.destroy(vm);
      rmSync(runDir, { recursive: true, force: true });
    }
    assert.equal(vm.state(), 'stopped');
  });
}
