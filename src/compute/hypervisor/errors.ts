// Errors a hypervisor driver raises, as codes (STYLE.md: throw a code, map it in one place).
// ARM and the maintenance orchestrator translate them; nothing here knows HTTP.
import { ServiceError } from '../../platform/errors.js';

export type HypervisorErrorCode =
  | 'HypervisorUnavailable' // the driver cannot run on this host (no QEMU binary, no guest image)
  | 'VmStartFailed' // the hosting process exited or never answered
  | 'VmNotRunning' // an operation needs a live VM
  | 'MonitorError' // QMP answered with an error
  | 'GuestAgentTimeout' // qemu-ga did not answer in time
  | 'InPlaceUpdateFailed'; // the handover to the new process failed; the old one may still hold the VM

export class HypervisorError extends ServiceError<HypervisorErrorCode> {
  override name = 'HypervisorError';
}
