import { LedgerError } from "../core/index.js";
import { Secret } from "./secret.js";
import type { SecretProvider } from "./secret-provider.js";

/**
 * `env:NAME`: the value of an environment variable, read on every call (a process's
 * environment only changes from inside it, so there is nothing to watch). It is static
 * for the life of the process: production refuses it for credentials that rotate.
 */
export function createEnvSecretProvider(name: string, variable: string, env: Readonly<Record<string, string | undefined>> = process.env): SecretProvider {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw new LedgerError("ERR_CONFIG", `${name}: env:${variable} is not an environment variable name`);
  return {
    source: `env:${variable}`,
    get() {
      const value = env[variable];
      if (value === undefined || value === "") return Promise.reject(new LedgerError("ERR_CONFIG", `${name}: environment variable ${variable} is not set or empty`));
      return Promise.resolve(new Secret(name, value));
    },
    close: () => Promise.resolve(),
  };
}
