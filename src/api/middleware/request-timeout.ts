import type { MiddlewareHandler } from "hono";
import { LedgerError } from "../../core/index.js";
import type { AppEnv } from "../context.js";

/**
 * Answers 503 once a request has taken `timeoutMs`, whatever it waits on (a stalled
 * database, an identity provider that does not answer): a client always gets an answer
 * within the bound. The handler may go on in the background; its late answer is dropped.
 *
 * Not hono/timeout: that one throws an HTTPException, and a request that may have changed
 * something must say ERR_OUTCOME_UNKNOWN, not the ERR_UNAVAILABLE a 503 maps to. Appends
 * normally answer before this, from the ledger's own bound, with what is known.
 */
/** Time left to write the 503 itself, so the client has it within `timeoutMs`. */
const ANSWER_MARGIN_MS = 250;

export function requestTimeout(timeoutMs: number, code: "ERR_UNAVAILABLE" | "ERR_OUTCOME_UNKNOWN"): MiddlewareHandler<AppEnv> {
  return async function requestTimeout(_c, next) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const what = code === "ERR_OUTCOME_UNKNOWN" ? "it may or may not have taken effect: retry with the same Idempotency-Key" : "retry shortly";
        reject(new LedgerError(code, `no answer within ${timeoutMs} ms; ${what}`, { retriable: true, details: { retryAfterSeconds: 1 } }));
      }, Math.max(1, timeoutMs - ANSWER_MARGIN_MS));
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
