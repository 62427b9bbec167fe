// The qemu hypervisor driver against a real guest (QEMU TCG + the busybox guest built by
// scripts/build-guest-image.sh). Goal: an in-place update hands the running guest to a new QEMU
// process with its memory and execution intact, pauses it for milliseconds, and the guest clock
// is resynced to within 5 ms. Method: boot, then check from outside (serial heartbeat, QEMU pids)
// and inside (md5 of a RAM region via qemu-ga guest-exec, guest-get-time) across the updates.
// Skipped only when qemu-system-x86_64 cannot run on this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { QemuDriver, qemuAvailable } from '../src/compute/hypervisor/qemu/driver.js';
import { ensureGuestImage } from '../src/compute/hypervisor/qemu/guest-image.js';
import { readHeartbeats, waitForHeartbeat, waitForLine } from '../src/compute/hypervisor/qemu/serial-log.js';
import type { InPlaceUpdateResult } from '../src/compute/hypervisor/driver.js';
import { SystemClock, delay, monotonicMs } from '../src/platform/clock.js';

const probe = qemuAvailable();
const skip = probe.ok ? false : `QEMU cannot run here (${probe.reason}); install qemu-system-x86 (see .ci/run)`;

/** A stand-in IMDS with one Freeze event naming `vmName`; records the approvals it receives. */
async function startImdsStub(vmName: string): Promise<{ port: number; approvals: string[]; close: () => void }> {
  const approvals: string[] = [];
  const document = JSON.stringify({
    DocumentIncarnation: 2,
    Events: [{
      EventId: 'a1b2c3d4-0000-4000-8000-000000000001', EventStatus: 'Scheduled', EventType: 'Freeze',
      ResourceType: 'VirtualMachine', Resources: [vmName], NotBefore: 'Mon, 11 Apr 2022 22:26:58 GMT',
      Description: 'Virtual machine is being paused because of a memory-preserving Live Migration operation.',
      EventSource: 'Platform', DurationInSeconds: 5,
    }],
  });
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (req.method === 'POST') approvals.push(body);
      const reply = req.method === 'GET' && req.headers['metadata'] === 'true' ? document : '';
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(reply) });
      res.end(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, approvals, close: () => server.close() };
}

test('qemu: in-place updates keep guest memory and execution, pause for milliseconds, clock resyncs within 5 ms', { skip, timeout: 180_000 }, async (t) => {
  const image = await ensureGuestImage();
  const runDir = mkdtempSync(path.join(tmpdir(), 'nimbus-qemu-'));
  const imds = await startImdsStub('vm-qemu-test');
  const driver = new QemuDriver({ clock: new SystemClock(), runDir });
  const { vm, startMs } = await driver.create({
    vmId: 'vm-qemu-test', memoryMiB: 128, cpus: 1, disks: [], imdsPort: imds.port,
    boot: { kind: 'kernel', kernelPath: image.kernelPath, initrdPath: image.initrdPath, cmdline: 'nimbus.mem_mib=32' },
  });
  t.diagnostic(`${probe.ok ? probe.version : ''}; QEMU running in ${startMs.toFixed(0)} ms`);
  try {
    const consolePath = vm.logs.consolePath ?? assert.fail('qemu VM has a console log');
    const heartbeatPath = vm.logs.heartbeatPath ?? assert.fail('qemu VM has a heartbeat log');
    const bootStart = monotonicMs();
    const md5AtBoot = (await waitForLine(consolePath, /nimbus: memory-region md5=([0-9a-f]{32})/, 60_000))[1];
    await waitForLine(consolePath, /nimbus: ready/, 30_000);
    await waitForHeartbeat(heartbeatPath, 5, 30_000);
    t.diagnostic(`guest ready ${(monotonicMs() - bootStart).toFixed(0)} ms after QEMU started; memory region md5 ${md5AtBoot}`);

    // 1. The guest's agent saw the Freeze event through 169.254.169.254 and approved it.
    await waitForLine(consolePath, /nimbus: approved event=a1b2c3d4/, 30_000);
    assert.deepEqual(JSON.parse(imds.approvals[0] ?? '{}'), { StartRequests: [{ EventId: 'a1b2c3d4-0000-4000-8000-000000000001' }] });

    // 2. Six prelaunched in-place updates: a new QEMU each time, the heartbeat carries on.
    const updates: InPlaceUpdateResult[] = [];
    for (let i = 0; i < 6; i++) {
      const before = (await readHeartbeats(heartbeatPath)).at(-1)?.counter ?? 0;
      const result = await driver.inPlaceUpdate(vm);
      assert.notEqual(result.pidAfter, result.pidBefore, 'a new QEMU process hosts the VM');
      assert.equal(vm.pid(), result.pidAfter);
      assert.equal(result.pauseKind, 'vm-blackout');
      const after = await waitForHeartbeat(heartbeatPath, before, 10_000);
      assert.ok(after.counter > before, `heartbeat continued past ${before}`);
      updates.push(result);
    }
    t.diagnostic(`pause ms per update: ${updates.map((u) => u.pauseMs.toFixed(1)).join(', ')} (handover ${updates.map((u) => u.handoverMs.toFixed(1)).join(', ')}; device state ${updates[0]?.transferredBytes} bytes)`);
    assert.equal(vm.generation(), 6);

    // 3. One cold update (replacement started inside the pause) with 1 s of host work: the guest clock lags by the pause.
    const cold = await driver.inPlaceUpdate(vm, { prelaunch: false, hostWork: () => delay(1000) });
    assert.ok(cold.pauseMs >= 1000);
    const sync = await driver.syncClock(vm);
    assert.equal(sync.kind, 'synced');
    if (sync.kind === 'synced') {
      t.diagnostic(`cold update pause ${cold.pauseMs.toFixed(1)} ms; guest clock before sync ${sync.beforeMs.toFixed(1)} ms, after ${sync.afterMs.toFixed(2)} ms (rtt ${sync.rttMs.toFixed(2)} ms)`);
      // The guest's clock stands still only while the VM is stopped, which is most but not all of the
      // host-measured pause: one CI run saw -883 ms after a 1061 ms pause. Half the host work proves the lag.
      assert.ok(sync.beforeMs < -500, `guest clock lagged by about the pause (${sync.beforeMs} ms)`);
      assert.ok(Math.abs(sync.afterMs) <= 5, `clock error after sync ${sync.afterMs} ms <= 5 ms`);
    }
    await delay(500);
    const check = await driver.measureClock(vm);
    t.diagnostic(`clock error 0.5 s after sync: ${check?.offsetMs.toFixed(2)} ms`);
    assert.ok(check !== null && Math.abs(check.offsetMs) <= 5);

    // 4. Memory and execution survived: same md5 inside the guest, one unbroken heartbeat sequence.
    const md5Now = (await (await driver.guestAgent(vm)).exec('/usr/bin/md5sum', ['/mem/blob'])).stdout.split(' ')[0];
    assert.equal(md5Now, md5AtBoot, 'the RAM region is byte-identical after 7 updates');
    const beats = await readHeartbeats(heartbeatPath);
    for (let i = 1; i < beats.length; i++) {
      assert.ok((beats[i]?.counter ?? 0) > (beats[i - 1]?.counter ?? 0), `heartbeat strictly increasing at line ${i}`);
    }
    assert.doesNotMatch(await (await import('node:fs/promises')).readFile(consolePath, 'utf8'), /Linux version[\s\S]*Linux version/, 'the guest never rebooted');
  } finally {
    await driver.destroy(vm);
    imds.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});
