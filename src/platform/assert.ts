// Assertions state invariants. A failed assert is a bug in Nimbus: the adapter answers
// 500 InternalError, logs it with the request id, and tests fail.

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function unreachable(value: never, message = 'unreachable'): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}
