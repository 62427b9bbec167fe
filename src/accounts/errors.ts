// The management-plane services' error codes (resource groups, storage accounts): Azure Resource
// Manager's and the Storage resource provider's own names, thrown as ServiceError and mapped to HTTP
// statuses only in the ARM error table (src/arm/errors.ts).
import { ServiceError } from '../platform/errors.js';

export type AccountErrorCode =
  | 'InvalidSubscriptionId'
  | 'ResourceGroupNotFound' | 'InvalidResourceGroupName' | 'ResourceGroupBuiltIn'
  | 'ResourceNotFound'
  | 'AccountNameInvalid' | 'StorageAccountAlreadyTaken' | 'StorageAccountBuiltIn'
  | 'InvalidValuesForRequestParameters';

export class AccountError extends ServiceError<AccountErrorCode> {}

export function fail(code: AccountErrorCode, details: Record<string, string> = {}): never {
  throw new AccountError(code, details);
}
