import { createPublicKey } from "node:crypto";
import { keyIdOf, LedgerError } from "../core/index.js";
import type { Signer } from "./signer.js";

export interface AwsKmsOptions {
  noteName: string;
  /** Key ARN, alias ARN, alias/<name> or key id. */
  keyId: string;
  region: string | undefined;
  /** A KMS-compatible endpoint (tests, VPC endpoints); undefined: AWS's regional one. */
  endpoint?: string | undefined;
  /** Explicit credentials; undefined: the SDK's default chain (env, IRSA web identity, SSO, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
  /** Sign calls in flight at once (KMS signs one message per request). Default 8. */
  concurrency?: number;
  timeoutMs?: number;
}

interface AwsError {
  name?: string;
  message?: string;
  $fault?: "client" | "server";
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * A Signer over an AWS KMS key of spec ECC_NIST_EDWARDS25519, signing with
 * ED25519_SHA_512 over the RAW message: the plain Ed25519 of RFC 8032 that every
 * verifier checks (ED25519_PH_SHA_512 is another signature, which they reject). KMS
 * signs one message per request and at most 4096 bytes: fit for a witness or checkpoint
 * key (about one signature a second), not for signing every event of a busy ledger.
 */
export async function openAwsKmsSigner(options: AwsKmsOptions): Promise<Signer> {
  // Loaded only when an awskms: key is configured (it weighs ~300 ms of imports).
  const { KMSClient, GetPublicKeyCommand, SignCommand } = await import("@aws-sdk/client-kms");
  const where = `AWS KMS key ${options.keyId}`;
  if (!options.region) throw new LedgerError("ERR_CONFIG", `${where}: no region: use a key ARN, add ?region= to the awskms: URI, or set AWS_REGION`);
  const timeoutMs = options.timeoutMs ?? 5000;
  const client = new KMSClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 2,
    requestHandler: { connectionTimeout: Math.min(2000, timeoutMs), requestTimeout: timeoutMs },
  });

  function translate(error: unknown, atOpen: boolean): LedgerError {
    const e = error as AwsError;
    const status = e.$metadata?.httpStatusCode;
    // No HTTP status: the request never got an answer (DNS, refused, timeout).
    const network = status === undefined || e.$fault === "server" || status === 429 || e.name === "ThrottlingException";
    const reason = `${e.name ?? "Error"}${status === undefined ? "" : ` (${status})`}: ${(e.message ?? "").slice(0, 200)}`;
    if (network) return new LedgerError("ERR_UNAVAILABLE", `${where}: KMS did not answer: ${reason}`, { cause: error, retriable: true });
    return new LedgerError(atOpen ? "ERR_CONFIG" : "ERR_UNAVAILABLE", `${where}: KMS refused: ${reason}`, { cause: error, details: { status } });
  }

  let described;
  try {
    described = await client.send(new GetPublicKeyCommand({ KeyId: options.keyId }));
  } catch (error) {
    client.destroy();
    throw translate(error, true);
  }
  if (described.KeySpec !== "ECC_NIST_EDWARDS25519" || described.KeyUsage !== "SIGN_VERIFY" || !described.SigningAlgorithms?.includes("ED25519_SHA_512")) {
    client.destroy();
    throw new LedgerError("ERR_CONFIG", `${where} is ${described.KeySpec ?? "of unknown spec"}/${described.KeyUsage ?? "?"}: Annal needs an ECC_NIST_EDWARDS25519 SIGN_VERIFY key`);
  }
  const jwk = createPublicKey({ key: Buffer.from(described.PublicKey ?? new Uint8Array()), format: "der", type: "spki" }).export({ format: "jwk" });
  const publicKey = new Uint8Array(Buffer.from(jwk.x ?? "", "base64url"));
  if (jwk.crv !== "Ed25519" || publicKey.length !== 32) {
    client.destroy();
    throw new LedgerError("ERR_CONFIG", `${where}: its public key is not Ed25519`);
  }

  async function signOne(message: Uint8Array): Promise<Uint8Array> {
    if (message.length > 4096) throw new RangeError(`KMS signs RAW messages of at most 4096 bytes, got ${message.length}`);
    let answer;
    try {
      answer = await client.send(new SignCommand({ KeyId: options.keyId, Message: message, MessageType: "RAW", SigningAlgorithm: "ED25519_SHA_512" }));
    } catch (error) {
      throw translate(error, false);
    }
    if (answer.Signature?.length !== 64) throw new LedgerError("ERR_UNAVAILABLE", `${where}: KMS answered a signature of ${answer.Signature?.length ?? 0} bytes, not 64`);
    return answer.Signature;
  }

  const concurrency = Math.max(1, options.concurrency ?? 8);
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    noteName: options.noteName,
    development: false,
    async signMany(messages) {
      const out = new Array<Uint8Array>(messages.length);
      let next = 0;
      const lane = async () => {
        while (next < messages.length) {
          const i = next++;
          out[i] = await signOne(messages[i]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, messages.length) }, lane));
      return out;
    },
    close() {
      client.destroy();
      return Promise.resolve();
    },
  };
}
