// The ARM error table: the only place in the management plane that knows HTTP statuses, and the
// renderer of ARM's error body. Follows the ARM RPC "error response content"
// (https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/common-api-details.md) and
// spec/disks-snapshots.md §1:
//
//   { "error": { "code": "ResourceNotFound", "message": "…", "target": "optional" } }
//
// Invariants:
// - Every code the management services (src/accounts/errors.ts) or this adapter can throw has a row;
//   `satisfies Record<ArmErrorCode, ArmWireError>` makes a missing row a compile error.
// - `{key}` in a message is filled from the error's details; a `target` detail becomes the body's
//   `target`. Codes compare exactly (SDKs surface `error.code`); messages follow Azure's wording where
//   it is known, and are for people.
// - Anything that is not a ServiceError with a row is a bug: 500 InternalServerError, logged.
import type { AccountErrorCode } from '../accounts/errors.js';
import type { DiskErrorCode } from '../disks/service/errors.js';
import type { AuthzErrorCode } from '../authz/errors.js';
import type { ComputeErrorCode } from '../compute/errors.js';
import { ServiceError } from '../platform/errors.js';

export interface ArmWireError {
  status: number;
  message: string;
}

export type ArmAdapterErrorCode =
  | 'AuthenticationFailed' | 'InvalidAuthenticationToken' | 'ExpiredAuthenticationToken' | 'InvalidAuthenticationTokenAudience'
  | 'MissingApiVersionParameter' | 'InvalidApiVersionParameter'
  | 'InvalidRequestContent' | 'InvalidRequestFormat' | 'MissingRequiredParameter' | 'InvalidParameter'
  | 'InvalidResourceType' | 'NotFound' | 'HttpMethodNotAllowed' | 'RequestEntityTooLarge'
  | 'ManagementPolicyNotFound'
  | 'InternalServerError';

export type ArmErrorCode = AccountErrorCode | AuthzErrorCode | ArmAdapterErrorCode | DiskErrorCode | ComputeErrorCode;

export const ARM_ERRORS = {
  // Authentication (spec §1: 401 InvalidAuthenticationToken)
  AuthenticationFailed: { status: 401, message: "Authentication failed. The 'Authorization' header is missing." },
  InvalidAuthenticationToken: { status: 401, message: 'The access token is invalid.' },
  ExpiredAuthenticationToken: { status: 401, message: 'The access token expiry UTC time is earlier than current UTC time.' },
  InvalidAuthenticationTokenAudience: { status: 401, message: "The access token has been obtained for wrong audience or resource '{audience}'." },

  // Request shape
  MissingApiVersionParameter: { status: 400, message: 'The api-version query parameter (?api-version=) is required for all requests.' },
  InvalidApiVersionParameter: { status: 400, message: "The api-version '{apiVersion}' is invalid. The supported versions are of the form 'YYYY-MM-DD' or 'YYYY-MM-DD-preview', from '2016-01-01' on." },
  InvalidRequestContent: { status: 400, message: 'The request content was invalid and could not be deserialized: {detail}' },
  InvalidRequestFormat: { status: 400, message: 'Cannot parse the request. {detail}' },
  MissingRequiredParameter: { status: 400, message: "The required parameter '{target}' is missing." },
  InvalidParameter: { status: 400, message: "The value of parameter '{target}' is invalid. {detail}" },
  InvalidValuesForRequestParameters: { status: 400, message: 'Values for request parameters are invalid: {parameter}. {detail}' },
  RequestEntityTooLarge: { status: 413, message: 'The request content is larger than {limit} bytes.' },

  // Routing
  InvalidResourceType: { status: 404, message: "The resource type '{type}' could not be found." },
  NotFound: { status: 404, message: "No HTTP resource was found that matches the request URI '{path}'." },
  HttpMethodNotAllowed: { status: 405, message: "The requested resource does not support http method '{method}'." },

  // Subscriptions and resource groups
  InvalidSubscriptionId: { status: 400, message: "The provided subscription identifier '{subscriptionId}' is malformed or invalid." },
  ResourceGroupNotFound: { status: 404, message: "Resource group '{resourceGroup}' could not be found." },
  InvalidResourceGroupName: { status: 400, message: "Resource group name '{resourceGroup}' is invalid. It must be 1 to 90 characters of letters, digits, '_', '-', '.', '(' and ')', and must not end in '.'." },
  ResourceGroupBuiltIn: { status: 409, message: "Resource group '{resourceGroup}' holds Nimbus's built-in accounts and cannot be deleted." },

  // Resources
  ResourceNotFound: { status: 404, message: "The Resource '{type}/{name}' under resource group '{resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix" },

  // Storage accounts (Storage resource provider codes)
  ManagementPolicyNotFound: { status: 404, message: 'No ManagementPolicy found for account {account}' },
  AccountNameInvalid: { status: 400, message: '{name} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.' },
  StorageAccountAlreadyTaken: { status: 409, message: 'The storage account named {name} is already taken.' },
  StorageAccountBuiltIn: { status: 409, message: 'The storage account {name} is built into Nimbus (development or configuration account): its keys come from configuration and it cannot be deleted.' },

  // Role assignments and definitions (Microsoft.Authorization's codes)
  InvalidRoleAssignmentId: { status: 400, message: "The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID." },
  InvalidPrincipalId: { status: 400, message: "The principal ID '{principalId}' is not valid. Principal ID must be a GUID." },
  RoleDefinitionDoesNotExist: { status: 404, message: "The specified role definition with ID '{roleDefinitionId}' does not exist." },
  RoleAssignmentExists: { status: 409, message: "The role assignment already exists (as '{name}')." },
  RoleAssignmentUpdateNotPermitted: { status: 409, message: "Tenant ID, application ID, principal ID, and scope are not allowed to be updated (role assignment '{name}')." },
  RoleAssignmentNotFound: { status: 404, message: "The role assignment '{name}' is not found." },
  UnsupportedRoleAssignmentFilter: { status: 400, message: "The $filter '{filter}' is not supported. Use atScope(), principalId eq '{id}' or assignedTo('{id}')." },

  // Managed disks and snapshots (Compute resource provider codes; spec/disks-snapshots.md §1)
  InvalidResourceName: { status: 400, message: "The resource name '{name}' is invalid for '{type}'. It must be 1 to 80 characters of letters, digits, '_', '-' and '.', and must not end in '.'." },
  LocationNotAvailableForResourceType: { status: 400, message: "The provided location '{location}' is not available for resource type '{type}'. List of available regions for the resource type is '{locations}'." },
  OperationNotAllowed: { status: 409, message: 'The operation is not allowed. {detail}' },
  Conflict: { status: 409, message: 'The request conflicts with the current state of the resource. {detail}' },

  // Virtual machines, availability sets, maintenance (src/compute/errors.ts; OperationNotAllowed is shared
  // with disks above). Details are filled in by arm/resources/compute-common.ts.
  ResourceExists: { status: 409, message: "The resource '{type}/{name}' already exists in resource group '{resourceGroup}'." },
  AvailabilitySetInUse: { status: 409, message: "Availability set '{name}' still has virtual machines; delete them first." },
  AllocationFailed: { status: 409, message: "Allocation failed: no host has room for virtual machine '{name}' ({detail}). Try a smaller size, or add or free a host." },
  VmUnderMaintenance: { status: 409, message: "Virtual machine '{name}' is being updated by a maintenance campaign; retry when its update has finished." },
  MaintenanceInProgress: { status: 409, message: 'A maintenance campaign is already running ({detail}); cancel it or wait for it to finish.' },
  UnknownEvent: { status: 400, message: 'Unknown scheduled event ({detail}).' },

  InternalServerError: { status: 500, message: 'The server encountered an internal error. Please retry the request.' },
} as const satisfies Record<ArmErrorCode, ArmWireError>;

/** Thrown by the ARM adapter for wire-level failures (auth, api-version, bad JSON, unknown routes). */
export class ArmFailure extends ServiceError<ArmErrorCode> {}

export function armFail(code: ArmErrorCode, details: Record<string, string> = {}): never {
  throw new ArmFailure(code, details);
}

export function isArmErrorCode(code: string): code is ArmErrorCode {
  return Object.hasOwn(ARM_ERRORS, code);
}

export interface RenderedArmError {
  status: number;
  code: ArmErrorCode;
  body: { error: { code: string; message: string; target?: string } };
}

export function renderArmError(code: string, details: Readonly<Record<string, string>>): RenderedArmError {
  const known: ArmErrorCode = isArmErrorCode(code) ? code : 'InternalServerError';
  const row: ArmWireError = ARM_ERRORS[known];
  const message = row.message.replace(/\{(\w+)\}/g, (whole, key: string) => details[key] ?? whole);
  const error: RenderedArmError['body']['error'] = { code: known, message };
  if (details.target !== undefined) error.target = details.target;
  return { status: row.status, code: known, body: { error } };
}
