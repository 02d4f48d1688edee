/** Every check of the library answers this: failure is a normal answer, not an exception. */
export type VerifyResult = { ok: true } | { ok: false; reason: string };

export const OK: VerifyResult = Object.freeze({ ok: true });

export function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
