import { timingSafeEqual } from "node:crypto";
import { inspect } from "node:util";

/** What a secret prints as, wherever it is turned into text. */
export const SECRET_MASK = "****";

/**
 * A credential as an opaque value: `toString`, `toJSON` and `util.inspect` print a mask,
 * so a secret that reaches a log line, an error message or a JSON body shows `****`.
 * Only `reveal()` gives the value, and only the adapter that hands it to a client
 * (pg, minio, kafkajs) calls it.
 *
 * A class because the value lives in a private field: it is not an enumerable property,
 * so no serializer (pino, JSON.stringify, structuredClone, util.inspect) can reach it.
 */
export class Secret {
  readonly #value: string;
  /** The setting it was configured as (e.g. ANNAL_DB_PASSWORD): safe to log. */
  readonly name: string;

  constructor(name: string, value: string) {
    this.name = name;
    this.#value = value;
    Object.freeze(this);
  }

  reveal(): string {
    return this.#value;
  }

  /** Constant-time comparison of the values (a rotation check must not be a timing oracle). */
  equals(other: Secret): boolean {
    const a = Buffer.from(this.#value);
    const b = Buffer.from(other.#value);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  toString(): string {
    return SECRET_MASK;
  }

  toJSON(): string {
    return SECRET_MASK;
  }

  [inspect.custom](): string {
    return `Secret(${this.name}: ${SECRET_MASK})`;
  }
}

export function isSecret(value: unknown): value is Secret {
  return value instanceof Secret;
}
