// The disk service's error codes: the Compute resource provider's own names (DiskRP), thrown as
// ServiceError and mapped to HTTP statuses only in the ARM error table (src/arm/errors.ts).
// Azure's exact codes per case are not all pinned down (spec/disks-snapshots.md §1 marks them [?]);
// where unsure we use the generic ones ARM clients handle: InvalidParameter, OperationNotAllowed.
import { ServiceError } from '../../platform/errors.js';

export type DiskErrorCode =
  | 'InvalidParameter' | 'MissingRequiredParameter' | 'InvalidResourceName'
  | 'LocationNotAvailableForResourceType'
  | 'OperationNotAllowed' | 'Conflict'
  | 'ResourceNotFound' | 'NotFound';

export class DiskError extends ServiceError<DiskErrorCode> {}

export function fail(code: DiskErrorCode, details: Record<string, string> = {}): never {
  throw new DiskError(code, details);
}
