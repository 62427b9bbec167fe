// Compute service: placement, power states and persisted definitions. Goal: a set's VMs spread
// over update domains, fault domains and hosts as Azure assigns them; stop keeps the allocation,
// deallocate releases it and start places again in the same domains; definitions survive a
// restart while running VMs come back stopped (their processes cannot outlive the server).
// Method: process-backed hosts, a real SqliteMetaStore in a temp dir, reopened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RG, SUB, processHosts, startCompute } from './helpers/compute.js';
import { SqliteMetaStore } from '../src/engine/meta/sqlite-meta-store.js';
import { ComputeError } from '../src/compute/errors.js';

const isCode = (code: string) => (e: unknown) => e instanceof ComputeError && e.code === code;

test('compute service: placement, power states, persistence across a restart', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nimbus-compute-meta-'));
  const meta = new SqliteMetaStore({ path: path.join(dir, 'meta.sqlite'), durability: 'process' });
  const ref = (name: string) => ({ subscriptionId: SUB, resourceGroup: RG, name });
  try {
    const h = await startCompute({ meta, hosts: processHosts(4, 256) });
    const { service } = h.compute;
    try {
      await service.createAvailabilitySet({ ...ref('web'), location: 'local', platformUpdateDomainCount: 3, platformFaultDomainCount: 2 });
      await assert.rejects(service.createAvailabilitySet({ ...ref('bad'), location: 'local', platformUpdateDomainCount: 21 }), isCode('InvalidParameter'));
      await assert.rejects(service.createAvailabilitySet({ ...ref('WEB'), location: 'local' }), isCode('ResourceExists'));
      for (let i = 0; i < 6; i++) {
        await service.createVm({ ...ref(`web-${i}`), location: 'local', vmSize: 'Standard_B1ls', memoryMiB: 32, availabilitySet: 'web' });
      }
      const members = service.setMembers(ref('web'));
      assert.deepEqual(members.map((vm) => vm.platformUpdateDomain), [0, 1, 2, 0, 1, 2], "Azure's round-robin");
      assert.deepEqual(members.map((vm) => vm.platformFaultDomain), [0, 1, 0, 1, 0, 1]);
      for (const vm of members) {
        const rack = service.listHosts().find((host) => host.name === vm.host)?.rack ?? -1;
        assert.equal(rack % 2, vm.platformFaultDomain, 'fault domain f lives on racks = f (mod FD count)');
      }
      assert.equal(new Set(members.map((vm) => vm.host)).size, 4, 'spread over every host');
      await assert.rejects(service.deleteAvailabilitySet(ref('web')), isCode('AvailabilitySetInUse'));
      await assert.rejects(service.createVm({ ...ref('huge'), location: 'local', vmSize: 'Standard_B1ls', memoryMiB: 4096 }), isCode('AllocationFailed'));

      const view = service.instanceView(ref('web-0'));
      assert.deepEqual(view.statuses.map((s) => s.code), ['ProvisioningState/succeeded', 'PowerState/running']);
      assert.equal(view.nimbus.driver, 'process');
      assert.equal(view.nimbus.isolation, 'none');

      const stopped = await service.powerOffVm(ref('web-1'));
      assert.equal(stopped.powerState, 'stopped');
      assert.ok(stopped.host !== null, 'stopped (allocated) keeps its host');
      const deallocated = await service.deallocateVm(ref('web-2'));
      assert.equal(deallocated.host, null);
      const restarted = await service.startVm(ref('web-2'));
      assert.equal(restarted.powerState, 'running');
      assert.equal(restarted.platformUpdateDomain, 2, 'domains are kept across deallocation');
      assert.ok(restarted.host !== null);
      await service.deleteVm(ref('web-5'));
      assert.throws(() => service.getVm(ref('web-5')), isCode('ResourceNotFound'));
    } finally {
      await h.close();
    }

    // Restart: definitions are back; VMs that were running come back stopped, still allocated.
    const again = await startCompute({ meta, hosts: processHosts(4, 256) });
    try {
      const vms = again.compute.service.listVms(SUB, RG);
      assert.deepEqual(vms.map((vm) => vm.name).sort(), ['web-0', 'web-1', 'web-2', 'web-3', 'web-4']);
      const web0 = again.compute.service.getVm(ref('web-0'));
      assert.equal(web0.powerState, 'stopped');
      assert.equal(web0.stopReason, 'server-restart');
      assert.equal(again.compute.service.getVm(ref('web-1')).stopReason, null, 'stopped by request before the restart');
      const started = await again.compute.service.startVm(ref('web-0'));
      assert.equal(started.host, web0.host);
      assert.equal(started.powerState, 'running');
    } finally {
      await again.close();
    }
  } finally {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
