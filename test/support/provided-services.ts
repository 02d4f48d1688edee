/**
 * What the global setup hands to test files (vitest `provide`/`inject`). Each service is
 * either reachable or carries the reason it is not, so a test that needs it can fail
 * saying which service is missing and how to start it.
 */
export type Provided<T> = ({ ok: true } & T) | { ok: false; reason: string };

export interface ProvidedServices {
  postgres: Provided<{ url: string }>;
  kafka: Provided<{ brokers: string[] }>;
  s3: Provided<{ endpoint: string; accessKey: string; secretKey: string }>;
  /** A Vault (the suite's dev server) and a token that may mount secrets engines. */
  vault: Provided<{ addr: string; token: string }>;
}

declare module "vitest" {
  export interface ProvidedContext {
    annalServices: ProvidedServices;
    /** This run's captured logs and declared secrets (test/support/log-capture.ts), scanned at teardown. */
    annalLogDir: string;
  }
}
