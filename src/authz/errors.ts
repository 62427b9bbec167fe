// The authorization service's error codes: Microsoft.Authorization's own names, thrown as ServiceError
// and mapped to HTTP statuses only in the ARM error table (src/arm/errors.ts).
import { ServiceError } from '../platform/errors.js';

export type AuthzErrorCode =
  | 'InvalidRoleAssignmentId' | 'InvalidPrincipalId' | 'RoleDefinitionDoesNotExist'
  | 'RoleAssignmentExists' | 'RoleAssignmentUpdateNotPermitted' | 'RoleAssignmentNotFound'
  | 'UnsupportedRoleAssignmentFilter';

export class AuthzError extends ServiceError<AuthzErrorCode> {}

export function authzFail(code: AuthzErrorCode, details: Record<string, string> = {}): never {
  throw new AuthzError(code, details);
}
