// Role assignment scopes: ARM resource ids a role assignment is attached to, and the "encloses" rule
// that lets an assignment at a higher scope apply below it.
//
//   /subscriptions/{s}
//   /subscriptions/{s}/resourceGroups/{rg}
//   /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{a}
//   …/storageAccounts/{a}/blobServices/default
//   …/storageAccounts/{a}/blobServices/default/containers/{c}
//
// ARM ids compare case-insensitively; a scope keeps the casing it was created with for display.
// An assignment at scope S applies to a request on target T when T is S or lies below it, segment-wise:
// `…/containers/photos` does not enclose `…/containers/photos2`.

export interface BlobTargetScope {
  subscriptionId: string;
  resourceGroup: string;
  account: string;
  /** Absent for account-level operations (list containers, user delegation keys, service properties). */
  container?: string;
}

/** Without a trailing slash, with a leading one. */
export function normalizeScope(scope: string): string {
  const trimmed = scope.replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

export function scopeKey(scope: string): string {
  return normalizeScope(scope).toLowerCase();
}

export function blobScope(target: BlobTargetScope): string {
  const account = `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${target.account}`;
  return target.container === undefined ? account : `${account}/blobServices/default/containers/${target.container}`;
}

/** Whether an assignment at `outer` applies to `inner` (equal, or an ancestor by whole segments). */
export function encloses(outer: string, inner: string): boolean {
  const a = scopeKey(outer);
  const b = scopeKey(inner);
  return a === b || b.startsWith(`${a}/`);
}
