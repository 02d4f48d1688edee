import { createHash } from "node:crypto";

/** SHA-256 of bytes, base64: native, since bundles are megabytes. */
export function sha256Base64(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("base64");
}
