// ServiceError: how a service says "this request breaks an Azure rule" in domain terms.
// Each service owns a union of codes; the wire adapters map codes to statuses in one table
// (src/azure-wire/errors.ts). Services never mention HTTP.

export class ServiceError<C extends string = string> extends Error {
  override name = 'ServiceError';
  constructor(
    readonly code: C,
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(code);
  }
}
