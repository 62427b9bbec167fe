// Storage accounts as the data plane sees them: names and their two keys, answered synchronously on
// every request (`exists`, `keysFor`, `names`). This registry is only the in-memory view; who may change
// it and where changes are stored is src/accounts/storage-accounts.ts, which loads every persisted
// account (created through ARM) into it at start and updates it after each committed change.
//
// The development account (Azurite's published name and key) is present unless configuration says
// otherwise, so `UseDevelopmentStorage=true` works. Accounts from the config file are present too.
// Both kinds are "built in": they are never stored, and ARM refuses to delete them or change their keys.

export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AccountConfig {
  name: string;
  keys: string[];
}

export class AccountRegistry {
  readonly #accounts = new Map<string, AccountConfig>();

  constructor(accounts: readonly AccountConfig[]) {
    for (const account of accounts) this.put(account);
  }

  exists(name: string): boolean {
    return this.#accounts.has(name);
  }

  keysFor(name: string): readonly string[] | undefined {
    return this.#accounts.get(name)?.keys;
  }

  names(): string[] {
    return [...this.#accounts.keys()];
  }

  /** Adds an account or replaces its keys. Called only after the change is durable. */
  put(account: AccountConfig): void {
    this.#accounts.set(account.name, { name: account.name, keys: [...account.keys] });
  }

  remove(name: string): void {
    this.#accounts.delete(name);
  }
}
