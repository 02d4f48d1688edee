import { LedgerError } from "../core/index.js";

/**
 * Where a signing key lives, parsed from `ANNAL_SIGNING_KEY` (or a witness's `--key`):
 *
 *   file:/etc/annal/ledger.pem          PKCS#8 PEM file (file:///… also accepted)
 *   env:ANNAL_LEDGER_KEY_PEM            PKCS#8 PEM in an environment variable
 *   pkcs11:token=annal;object=ledger?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin
 *   vault-transit:transit/ledger?addr=https://vault.example:8200
 *   awskms:arn:aws:kms:eu-west-1:111122223333:key/1234abcd-…   (or awskms:alias/annal?region=eu-west-1)
 */
export type KeyUri =
  | { scheme: "file"; path: string }
  | { scheme: "env"; variable: string }
  | { scheme: "pkcs11"; pkcs11: Pkcs11Uri }
  | { scheme: "vault-transit"; mount: string; key: string; addr: string | undefined; namespace: string | undefined; version: number | undefined }
  | { scheme: "awskms"; keyId: string; region: string | undefined; endpoint: string | undefined };

/** RFC 7512 PKCS#11 URI: path attributes select the token and the key, query attributes say how to reach them. */
export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  model?: string;
  serial?: string;
  slotId?: bigint;
  /** CKA_LABEL of the key pair. */
  object?: string;
  /** CKA_ID of the key pair (raw bytes, pct-encoded in the URI). */
  id?: Uint8Array;
  modulePath: string;
  /** `file:/path` or a plain path: the PIN is read from there. */
  pinSource?: string;
  /** The PIN in the URI itself: development only (the URI is configuration, seen by many). */
  pinValue?: string;
}

const SCHEMES = ["file:", "env:", "pkcs11:", "vault-transit:", "awskms:"];

function configError(message: string): LedgerError {
  // The message names the scheme and the attribute, never the URI: it may carry a PIN.
  return new LedgerError("ERR_CONFIG", message);
}

/** Parses a key URI; throws ERR_CONFIG naming what is wrong (never echoing a secret). */
export function parseKeyUri(uri: string): KeyUri {
  const colon = uri.indexOf(":");
  const scheme = colon < 0 ? "" : uri.slice(0, colon + 1);
  const rest = uri.slice(colon + 1);
  switch (scheme) {
    case "file:": {
      const path = rest.startsWith("//") ? decodeURIComponent(new URL(uri).pathname) : rest;
      if (path === "") throw configError("file: key URI has no path");
      return { scheme: "file", path };
    }
    case "env:":
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(rest)) throw configError("env: key URI must name an environment variable, e.g. env:ANNAL_LEDGER_KEY_PEM");
      return { scheme: "env", variable: rest };
    case "pkcs11:":
      return { scheme: "pkcs11", pkcs11: parsePkcs11Uri(rest) };
    case "vault-transit:":
      return parseVaultTransit(rest);
    case "awskms:":
      return parseAwsKms(rest);
    default:
      throw configError(`unknown signing key URI scheme ${JSON.stringify(scheme || uri.slice(0, 16))}: use one of ${SCHEMES.join(" ")}`);
  }
}

function splitQuery(rest: string): { path: string; query: Map<string, string> } {
  const q = rest.indexOf("?");
  const query = new Map<string, string>();
  if (q >= 0) {
    for (const part of rest.slice(q + 1).split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      if (eq < 0) throw configError(`key URI query attribute ${JSON.stringify(part.slice(0, 32))} has no value`);
      const name = part.slice(0, eq);
      if (query.has(name)) throw configError(`key URI query attribute ${name} is repeated`);
      query.set(name, pctDecode(part.slice(eq + 1), name));
    }
  }
  return { path: q >= 0 ? rest.slice(0, q) : rest, query };
}

function pctDecode(text: string, name: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw configError(`key URI attribute ${name} is not valid percent-encoding`);
  }
}

function pctDecodeBytes(text: string, name: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw configError(`key URI attribute ${name} is not valid percent-encoding`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(...new TextEncoder().encode(text[i]));
  }
  return new Uint8Array(out);
}

const PKCS11_PATH = new Set(["token", "manufacturer", "model", "serial", "slot-id", "object", "id", "type", "library-manufacturer", "library-description", "library-version", "slot-description", "slot-manufacturer"]);
const PKCS11_QUERY = new Set(["module-path", "module-name", "pin-source", "pin-value"]);

function parsePkcs11Uri(rest: string): Pkcs11Uri {
  const { path, query } = splitQuery(rest);
  const attrs = new Map<string, string>();
  for (const part of path.split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    if (eq < 0 || !PKCS11_PATH.has(name)) throw configError(`pkcs11: URI has an unknown or empty path attribute ${JSON.stringify(name.slice(0, 32))}`);
    if (attrs.has(name)) throw configError(`pkcs11: URI repeats ${name}`);
    attrs.set(name, part.slice(eq + 1));
  }
  for (const name of query.keys()) if (!PKCS11_QUERY.has(name)) throw configError(`pkcs11: URI has an unknown query attribute ${JSON.stringify(name.slice(0, 32))}`);
  const modulePath = query.get("module-path");
  if (!modulePath) throw configError("pkcs11: URI needs module-path (the PKCS#11 library, e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so)");
  if (query.has("pin-source") && query.has("pin-value")) throw configError("pkcs11: URI has both pin-source and pin-value: give one");
  const type = attrs.get("type");
  if (type !== undefined && type !== "private") throw configError(`pkcs11: URI type must be "private" (the signing key), got ${JSON.stringify(type)}`);
  const text = (name: string) => (attrs.has(name) ? pctDecode(attrs.get(name)!, name) : undefined);
  const slot = text("slot-id");
  if (slot !== undefined && !/^\d+$/.test(slot)) throw configError("pkcs11: URI slot-id must be a decimal number");
  const uri: Pkcs11Uri = { modulePath };
  for (const [name, key] of [["token", "token"], ["manufacturer", "manufacturer"], ["model", "model"], ["serial", "serial"], ["object", "object"]] as const) {
    const value = text(name);
    if (value !== undefined) uri[key] = value;
  }
  if (slot !== undefined) uri.slotId = BigInt(slot);
  if (attrs.has("id")) uri.id = pctDecodeBytes(attrs.get("id")!, "id");
  if (uri.object === undefined && uri.id === undefined) throw configError("pkcs11: URI must name the key with object= (its label) or id=");
  const pinSource = query.get("pin-source");
  const pinValue = query.get("pin-value");
  if (pinSource !== undefined) uri.pinSource = pinSource;
  if (pinValue !== undefined) uri.pinValue = pinValue;
  return uri;
}

function parseVaultTransit(rest: string): KeyUri {
  const { path, query } = splitQuery(rest);
  for (const name of query.keys()) if (!["addr", "namespace", "version"].includes(name)) throw configError(`vault-transit: URI has an unknown attribute ${JSON.stringify(name.slice(0, 32))}`);
  const slash = path.lastIndexOf("/");
  const mount = slash < 0 ? "transit" : path.slice(0, slash).replace(/^\/+|\/+$/g, "");
  const key = path.slice(slash + 1);
  if (!/^[A-Za-z0-9_.-]+$/.test(key) || !/^[A-Za-z0-9_./-]+$/.test(mount)) throw configError("vault-transit: URI must be vault-transit:<mount>/<key>, e.g. vault-transit:transit/annal-ledger");
  const addr = query.get("addr");
  if (addr !== undefined && !/^https?:\/\/[^/?#@]+\/?$/.test(addr)) throw configError("vault-transit: addr must be http(s)://host:port with no credentials or path");
  const version = query.get("version");
  if (version !== undefined && !/^[1-9]\d{0,8}$/.test(version)) throw configError("vault-transit: version must be a positive integer");
  return { scheme: "vault-transit", mount, key, addr, namespace: query.get("namespace"), version: version === undefined ? undefined : Number(version) };
}

function parseAwsKms(rest: string): KeyUri {
  const { path, query } = splitQuery(rest);
  for (const name of query.keys()) if (!["region", "endpoint"].includes(name)) throw configError(`awskms: URI has an unknown attribute ${JSON.stringify(name.slice(0, 32))}`);
  // A key ARN, an alias ARN, alias/<name> or a bare key id (UUID or mrk-…).
  if (!/^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+|alias\/[A-Za-z0-9/_-]+|(mrk-)?[0-9a-f-]{32,36})$/.test(path)) {
    throw configError("awskms: URI must name a key ARN, alias/<name> or a key id, e.g. awskms:alias/annal-witness?region=eu-west-1");
  }
  const endpoint = query.get("endpoint");
  if (endpoint !== undefined && !/^https?:\/\/[^/?#@]+\/?$/.test(endpoint)) throw configError("awskms: endpoint must be http(s)://host:port with no credentials or path");
  const region = query.get("region") ?? /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(path)?.[1];
  return { scheme: "awskms", keyId: path, region, endpoint };
}

/**
 * The URI as logs and `GET /admin/config` show it: a pin-value replaced by ****. Other
 * attributes are locations, not secrets (tokens and AWS credentials never go in the URI).
 */
export function maskKeyUri(uri: string): string {
  return uri.replace(/([?&]pin-value=)[^&]*/g, "$1****");
}
