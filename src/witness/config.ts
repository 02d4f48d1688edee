import { LedgerError } from "../core/index.js";
import { parseCosignerVerifierKey, type CosignerKey } from "../verify/cosignature.js";

export interface WitnessEndpoint {
  /** Submission prefix: `${url}/add-checkpoint` is posted to. */
  url: string;
  verifierKey: string;
  cosigner: CosignerKey;
}

/**
 * ANNAL_WITNESSES: a JSON list of `{ "url": ..., "verifierKey": ... }`, the witnesses the
 * ledger asks to cosign its checkpoints. The verifier key is the witness's C2SP cosigner
 * key (`name+hash+base64(0x04 || key)`); cosignatures that do not verify are dropped.
 */
export function parseWitnessesConfig(raw: string | undefined): WitnessEndpoint[] {
  if (raw === undefined || raw.trim() === "") return [];
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch (cause) {
    throw new LedgerError("ERR_CONFIG", "ANNAL_WITNESSES must be a JSON list of {url, verifierKey}", { cause });
  }
  if (!Array.isArray(list)) throw new LedgerError("ERR_CONFIG", "ANNAL_WITNESSES must be a JSON list of {url, verifierKey}");
  return list.map((item: unknown, i) => {
    const { url, verifierKey } = (item ?? {}) as { url?: unknown; verifierKey?: unknown };
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) throw new LedgerError("ERR_CONFIG", `ANNAL_WITNESSES[${i}].url must be an http(s) URL`);
    const cosigner = typeof verifierKey === "string" ? parseCosignerVerifierKey(verifierKey) : undefined;
    if (!cosigner) throw new LedgerError("ERR_CONFIG", `ANNAL_WITNESSES[${i}].verifierKey must be a C2SP cosignature/v1 verifier key (algorithm 0x04)`);
    return { url: url.replace(/\/+$/, ""), verifierKey: verifierKey as string, cosigner };
  });
}
