import { createHash, createPublicKey, verify } from "node:crypto";
import { keyIdOf, LedgerError } from "../core/index.js";
import { createEvalWorkerPool } from "../workers/eval-worker-pool.js";
import type { Pkcs11Uri } from "./key-uri.js";
import {
  CKA_CLASS, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKK_EC_EDWARDS, ckrName, CKF_SERIAL_SESSION, CKO_PRIVATE_KEY,
  CKO_PUBLIC_KEY, CKU_USER, koffiEntry, openPkcs11Module, PKCS11_WORKER_SOURCE, type Pkcs11Module,
} from "./pkcs11-module.js";
import type { Signer } from "./signer.js";

export interface Pkcs11SignerOptions {
  noteName: string;
  /** Worker threads, each with a session of its own (at least 1: signing never runs on the event loop). */
  signWorkers?: number;
}

type WorkerResult = { signatures: Uint8Array; session: number } | { rv: number; at: string; session?: number };

// CKA_EC_PARAMS for Ed25519: the OID 1.3.101.112 (PKCS#11 3.0) or the printable string
// "edwards25519" (what pkcs11-tool 0.23 writes and SoftHSM2 2.6.1 accepts).
const ED25519_OID = "06032b6570";
const ED25519_NAME = "130c" + Buffer.from("edwards25519").toString("hex");

function fail(message: string, rv?: number): LedgerError {
  return new LedgerError("ERR_CONFIG", rv === undefined ? message : `${message} (${ckrName(rv)})`, rv === undefined ? {} : { details: { ckr: ckrName(rv) } });
}

function check(rv: number, what: string): void {
  if (rv !== 0) throw fail(`PKCS#11 ${what} failed`, rv);
}

function ulong(value: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

function text32(info: Buffer, offset: number, length: number): string {
  return info.subarray(offset, offset + length).toString("utf8").replace(/[ \0]+$/, "");
}

/** The slot whose token matches the URI's token attributes: exactly one, or ERR_CONFIG. */
function findSlot(m: Pkcs11Module, uri: Pkcs11Uri): number {
  const count = [0];
  check(m.C_GetSlotList(1, null, count), "C_GetSlotList");
  const list = Buffer.alloc(8 * Math.max(1, count[0]!));
  check(m.C_GetSlotList(1, list, count), "C_GetSlotList");
  const matches: number[] = [];
  for (let i = 0; i < count[0]!; i++) {
    const slot = Number(list.readBigUInt64LE(i * 8));
    if (uri.slotId !== undefined && BigInt(slot) !== uri.slotId) continue;
    // CK_TOKEN_INFO begins with label[32], manufacturerID[32], model[16], serialNumber[16].
    const info = Buffer.alloc(512);
    if (m.C_GetTokenInfo(slot, info) !== 0) continue;
    if (uri.token !== undefined && text32(info, 0, 32) !== uri.token) continue;
    if (uri.manufacturer !== undefined && text32(info, 32, 32) !== uri.manufacturer) continue;
    if (uri.model !== undefined && text32(info, 64, 16) !== uri.model) continue;
    if (uri.serial !== undefined && text32(info, 80, 16) !== uri.serial) continue;
    matches.push(slot);
  }
  if (matches.length === 0) throw fail(`no PKCS#11 token matches the URI${uri.token === undefined ? "" : ` (token=${uri.token})`} in ${m.path}`);
  if (matches.length > 1) throw fail(`${matches.length} PKCS#11 tokens match the URI: add token=, serial= or slot-id=`);
  return matches[0]!;
}

function findObject(m: Pkcs11Module, session: number, objectClass: number, uri: Pkcs11Uri): number | undefined {
  const template = [{ type: CKA_CLASS, pValue: ulong(objectClass), ulValueLen: 8 }];
  if (uri.object !== undefined) {
    const label = Buffer.from(uri.object, "utf8");
    template.push({ type: CKA_LABEL, pValue: label, ulValueLen: label.length });
  }
  if (uri.id !== undefined) template.push({ type: CKA_ID, pValue: Buffer.from(uri.id), ulValueLen: uri.id.length });
  check(m.C_FindObjectsInit(session, template, template.length), "C_FindObjectsInit");
  const found = Buffer.alloc(8 * 2);
  const count = [0];
  const rv = m.C_FindObjects(session, found, 2, count);
  m.C_FindObjectsFinal(session);
  check(rv, "C_FindObjects");
  const kind = objectClass === CKO_PRIVATE_KEY ? "private" : "public";
  if (count[0]! > 1) throw fail(`several ${kind} keys match the PKCS#11 URI: name the key by both object= and id=`);
  return count[0] === 1 ? Number(found.readBigUInt64LE(0)) : undefined;
}

function attribute(m: Pkcs11Module, session: number, object: number, type: number): Buffer {
  const value = Buffer.alloc(256);
  const template = [{ type, pValue: value, ulValueLen: value.length }];
  check(m.C_GetAttributeValue(session, object, template, 1), "C_GetAttributeValue");
  return value.subarray(0, Number(template[0]!.ulValueLen));
}

function readPin(uri: Pkcs11Uri, readFile: (path: string) => string): string {
  if (uri.pinValue !== undefined) return uri.pinValue;
  if (uri.pinSource === undefined) throw fail("the pkcs11: URI has no pin-source (or pin-value): the token needs a PIN to sign");
  const path = uri.pinSource.startsWith("file:") ? uri.pinSource.replace(/^file:(\/\/)?/, "") : uri.pinSource;
  try {
    // One line; a trailing newline (echo > file) is not part of the PIN.
    return readFile(path).replace(/\r?\n$/, "");
  } catch (cause) {
    throw new LedgerError("ERR_CONFIG", `cannot read the PKCS#11 pin-source ${path}`, { cause: new Error((cause as NodeJS.ErrnoException).code ?? "read failed") });
  }
}

/**
 * A Signer over an Ed25519 key in a PKCS#11 token (CKM_EDDSA). Opening logs in, finds the
 * private key and its public key, checks that they are an Ed25519 pair (a probe signature
 * verified locally), and starts the signing workers. The private key never leaves the token.
 */
export async function openPkcs11Signer(uri: Pkcs11Uri, options: Pkcs11SignerOptions & { readFile: (path: string) => string }): Promise<Signer> {
  const pin = readPin(uri, options.readFile);
  const m = openPkcs11Module(uri.modulePath);
  const sessions: number[] = [];
  const closeSessions = () => {
    for (const s of sessions.splice(0)) m.C_CloseSession(s);
  };
  try {
    const slot = findSlot(m, uri);
    const out = [0];
    check(m.C_OpenSession(slot, CKF_SERIAL_SESSION, null, null, out), "C_OpenSession");
    const session = out[0]!;
    sessions.push(session);
    const pinBytes = Buffer.from(pin, "utf8");
    const pinHash = createHash("sha256").update(pinBytes).digest("hex");
    const loginRv = m.C_Login(session, CKU_USER, pinBytes, pinBytes.length);
    pinBytes.fill(0);
    if (loginRv === 0xa0 || loginRv === 0xa4) throw fail("PKCS#11 login refused: the PIN is incorrect or locked", loginRv);
    if (loginRv === 0x100 && m.logins.has(slot) && m.logins.get(slot) !== pinHash) {
      throw fail("PKCS#11 login refused: the PIN is incorrect (the token is logged in by this process with another PIN)", 0xa0);
    }
    if (loginRv !== 0 && loginRv !== 0x100) check(loginRv, "C_Login");
    if (loginRv === 0) m.logins.set(slot, pinHash);

    const privateKey = findObject(m, session, CKO_PRIVATE_KEY, uri);
    if (privateKey === undefined) throw fail(`no private key matches the PKCS#11 URI${uri.object === undefined ? "" : ` (object=${uri.object})`}`);
    const keyType = attribute(m, session, privateKey, CKA_KEY_TYPE);
    const params = attribute(m, session, privateKey, CKA_EC_PARAMS).toString("hex");
    if (keyType.length !== 8 || Number(keyType.readBigUInt64LE(0)) !== CKK_EC_EDWARDS || (params !== ED25519_OID && params !== ED25519_NAME)) {
      throw fail("the PKCS#11 key is not an Ed25519 key (CKK_EC_EDWARDS on edwards25519): Annal signs with Ed25519 only");
    }
    const publicObject = findObject(m, session, CKO_PUBLIC_KEY, uri);
    if (publicObject === undefined) throw fail("the PKCS#11 token holds no public key object beside the private key: Annal reads the public key from it");
    const point = attribute(m, session, publicObject, CKA_EC_POINT);
    // CKA_EC_POINT is DER (OCTET STRING 0x04 0x20 || key) in most modules, raw in some.
    const publicKey = new Uint8Array(point.length === 34 && point[0] === 0x04 && point[1] === 0x20 ? point.subarray(2) : point);
    if (publicKey.length !== 32) throw fail("the PKCS#11 public key's CKA_EC_POINT is not a 32-byte Ed25519 point");

    const pool = createEvalWorkerPool<WorkerResult>(PKCS11_WORKER_SOURCE, Math.max(1, options.signWorkers ?? 1), {
      workerData: { koffi: koffiEntry(), modulePath: uri.modulePath, slot, key: privateKey },
      unref: true,
    });
    const signMany = async (messages: Uint8Array[]): Promise<Uint8Array[]> => {
      if (messages.length === 0) return [];
      const parts = await pool.spread(messages, (chunk) => {
        const lengths = chunk.map((msg) => msg.length);
        const packed = new Uint8Array(lengths.reduce((a, b) => a + b, 0));
        let offset = 0;
        for (const msg of chunk) {
          packed.set(msg, offset);
          offset += msg.length;
        }
        return { message: { packed, lengths }, transfer: [packed.buffer] };
      });
      const signatures: Uint8Array[] = [];
      for (const { result } of parts) {
        if (result.session !== undefined && !sessions.includes(result.session)) sessions.push(result.session);
        if ("rv" in result) {
          throw new LedgerError("ERR_UNAVAILABLE", `PKCS#11 ${result.at} failed (${ckrName(result.rv)})`, { details: { ckr: ckrName(result.rv) } });
        }
        for (let i = 0; i < result.signatures.length; i += 64) signatures.push(result.signatures.subarray(i, i + 64));
      }
      return signatures;
    };
    const close = async () => {
      await pool.close();
      closeSessions();
      m.release();
    };
    // The probe: the private key and the public key we publish must be one pair.
    const probe = new TextEncoder().encode(`annal pkcs11 probe ${Date.now()}`);
    let signature: Uint8Array;
    try {
      [signature] = (await signMany([probe])) as [Uint8Array];
    } catch (error) {
      await pool.close();
      throw error;
    }
    const spki = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(publicKey).toString("base64url") }, format: "jwk" });
    if (!verify(null, probe, spki, signature)) {
      await pool.close();
      throw fail("the PKCS#11 private key does not match the public key found beside it (same object/id): refusing to sign");
    }
    return { keyId: keyIdOf(publicKey), publicKey, noteName: options.noteName, development: false, signMany, close };
  } catch (error) {
    closeSessions();
    m.release();
    throw error;
  }
}
