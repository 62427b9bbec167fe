// Storage accounts known to this Nimbus: names and their two keys. The development account
// (Azurite's published name and key) is always present unless configuration says otherwise,
// so `UseDevelopmentStorage=true` works. More accounts come from config (and, later, ARM).

export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AccountConfig {
  name: string;
  keys: string[];
}

export class AccountRegistry {
  readonly #accounts = new Map<string, AccountConfig>();

  constructor(accounts: readonly AccountConfig[]) {
    for (const account of accounts) this.#accounts.set(account.name, { name: account.name, keys: [...account.keys] });
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
}
