import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A FAKE of AWS KMS for tests: an HTTP server speaking KMS's JSON protocol
 * (`X-Amz-Target: TrentService.<Action>`, application/x-amz-json-1.1) for GetPublicKey and
 * Sign, driven by the real @aws-sdk/client-kms. AWS cannot be reached here and no
 * emulator we could install signs Ed25519 (moto 5.2.5 on PyPI has no
 * ECC_NIST_EDWARDS25519). It is strict where AWS is: RAW messages of at most 4096 bytes,
 * ED25519_SHA_512 only for Edwards keys (ED25519_PH_SHA_512 needs MessageType DIGEST),
 * a SigV4 Authorization header naming the configured access key (the signature itself is
 * not recomputed).
 */
export interface FakeKms {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Adds a key; answers its ARN. */
  addKey(spec: "ECC_NIST_EDWARDS25519" | "ECC_NIST_P256", alias?: string): { arn: string; keyId: string; publicKeyDer: Uint8Array };
  /** Sign requests received (GetPublicKey excluded). */
  readonly signRequests: number;
  close(): Promise<void>;
}

interface Key {
  arn: string;
  spec: string;
  privateKey: KeyObject;
  publicKeyDer: Uint8Array;
}

export async function startFakeKms(): Promise<FakeKms> {
  const region = "eu-west-1";
  const account = "111122223333";
  const accessKeyId = "AKIAFAKEKMS0TEST0001";
  const secretAccessKey = "fake-kms-secret-0123456789abcdef0123456789";
  const keys = new Map<string, Key>();
  let signRequests = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "fake" });
        res.end(JSON.stringify(body));
      };
      const error = (status: number, type: string, message: string) => answer(status, { __type: type, message });
      const auth = req.headers.authorization ?? "";
      if (!auth.startsWith(`AWS4-HMAC-SHA256 Credential=${accessKeyId}/`)) return error(400, "UnrecognizedClientException", "The security token included in the request is invalid.");
      const target = String(req.headers["x-amz-target"] ?? "");
      let input: Record<string, string | undefined>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, string | undefined>;
      } catch {
        return error(400, "SerializationException", "bad JSON");
      }
      const key = find(input.KeyId ?? "");
      if (!key) return error(400, "NotFoundException", `Key '${input.KeyId}' does not exist`);
      if (target === "TrentService.GetPublicKey") {
        const edwards = key.spec === "ECC_NIST_EDWARDS25519";
        return answer(200, {
          KeyId: key.arn, KeySpec: key.spec, KeyUsage: "SIGN_VERIFY", PublicKey: Buffer.from(key.publicKeyDer).toString("base64"),
          SigningAlgorithms: edwards ? ["ED25519_SHA_512", "ED25519_PH_SHA_512"] : ["ECDSA_SHA_256"],
        });
      }
      if (target === "TrentService.Sign") {
        signRequests++;
        const message = Buffer.from(input.Message ?? "", "base64");
        if (message.length === 0 || message.length > 4096) return error(400, "ValidationException", "Message must be 1 to 4096 bytes");
        if (key.spec !== "ECC_NIST_EDWARDS25519") return error(400, "InvalidKeyUsageException", "fake signs Edwards keys only");
        if (input.SigningAlgorithm !== "ED25519_SHA_512" || (input.MessageType ?? "RAW") !== "RAW") {
          return error(400, "ValidationException", "ED25519_SHA_512 requires MessageType RAW; ED25519_PH_SHA_512 requires DIGEST");
        }
        return answer(200, { KeyId: key.arn, SigningAlgorithm: "ED25519_SHA_512", Signature: sign(null, message, key.privateKey).toString("base64") });
      }
      return error(400, "UnknownOperationException", target);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const aliases = new Map<string, string>();

  function find(id: string): Key | undefined {
    const byAlias = aliases.get(id.replace(/^arn:aws:kms:[^:]+:\d+:/, ""));
    if (byAlias) return keys.get(byAlias);
    return keys.get(id) ?? [...keys.values()].find((k) => k.arn.endsWith(`/${id}`));
  }

  return {
    endpoint: `http://127.0.0.1:${port}`,
    region,
    accessKeyId,
    secretAccessKey,
    get signRequests() {
      return signRequests;
    },
    addKey(spec, alias) {
      const pair = spec === "ECC_NIST_EDWARDS25519" ? generateKeyPairSync("ed25519") : generateKeyPairSync("ec", { namedCurve: "P-256" });
      const keyId = crypto.randomUUID();
      const arn = `arn:aws:kms:${region}:${account}:key/${keyId}`;
      const publicKeyDer = new Uint8Array(pair.publicKey.export({ format: "der", type: "spki" }));
      keys.set(arn, { arn, spec, privateKey: pair.privateKey, publicKeyDer });
      if (alias) aliases.set(`alias/${alias}`, arn);
      return { arn, keyId, publicKeyDer };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
