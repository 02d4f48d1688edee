/**
 * Every check of the library answers this: failure is a normal answer, not an exception.
 * `code` is set where a caller must tell failures apart (a key outside its window).
 */
export type VerifyResult = { ok: true } | { ok: false; reason: string; code?: string };

export const OK: VerifyResult = Object.freeze({ ok: true });

export function fail(reason: string, code?: string): { ok: false; reason: string; code?: string } {
  return code === undefined ? { ok: false, reason } : { ok: false, reason, code };
}
