// Errors the compute services raise, as codes (STYLE.md: throw a code, map it in one place).
// The ARM adapter maps these to ARM JSON errors (its table, not here); the IMDS adapter has its
// own small table (imds/wire.ts) because IMDS answers in its own error dialect.
import { ServiceError } from '../platform/errors.js';

export type ComputeErrorCode =
  | 'ResourceNotFound' // no such VM / availability set / host / campaign
  | 'ResourceExists' // a VM or availability set with that name already exists in the resource group
  | 'InvalidParameter' // a value outside what Azure accepts (UD count 1-20, FD count 1-3, unknown size, ...)
  | 'AvailabilitySetInUse' // deleting a set that still has VMs
  | 'AllocationFailed' // no host has room (memory) for the VM
  | 'OperationNotAllowed' // wrong power state for the operation (e.g. start of a running VM is fine, but not of one being deleted)
  | 'VmUnderMaintenance' // a maintenance campaign holds the VM right now
  | 'MaintenanceInProgress' // a campaign is already running (overlapping campaigns are refused)
  | 'UnknownEvent'; // a StartRequests EventId this VM cannot see

export class ComputeError extends ServiceError<ComputeErrorCode> {
  override name = 'ComputeError';
}
