import { SECRET_MASK } from "./secret.js";

/**
 * The last line of defence for the log: every line pino writes is scanned for the current
 * value of every configured secret, which is replaced by the mask. Secrets are opaque
 * values (secret.ts), so they should never reach a log line at all; this also catches a
 * value that arrived by another road (a driver's error text, a URL echoed by a library).
 *
 * @example
 * const redaction = createLogRedaction();
 * const logger = pino({ hooks: { streamWrite: redaction.streamWrite } });
 * redaction.setValues(() => secrets.all.map((s) => s.current().reveal()));
 */
export interface LogRedaction {
  streamWrite(this: void, line: string): string;
  /** Where the current secret values come from (read at each line, so rotations are covered). */
  setValues(this: void, values: () => readonly string[]): void;
}

export function createLogRedaction(): LogRedaction {
  let values: () => readonly string[] = () => [];
  return {
    streamWrite(line) {
      let out = line;
      for (const value of values()) {
        // Short values would mask unrelated text; production refuses secrets under 16 characters anyway.
        if (value.length < 8) continue;
        if (out.includes(value)) out = out.split(value).join(SECRET_MASK);
        // JSON escaping of the value (quotes, backslashes, control characters) as pino writes it.
        const escaped = JSON.stringify(value).slice(1, -1);
        if (escaped !== value && out.includes(escaped)) out = out.split(escaped).join(SECRET_MASK);
      }
      return out;
    },
    setValues(next) {
      values = next;
    },
  };
}
