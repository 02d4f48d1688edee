import { createRequire } from "node:module";
import { LedgerError } from "../core/index.js";

// PKCS#11 (Cryptoki) through koffi, an FFI whose npm package ships prebuilt binaries per
// platform: no compiler, no node-gyp, no install script, the same under Node and Bun.
// Declared here: the few functions Annal calls, with the LP64 ABI (CK_ULONG is 64-bit
// `unsigned long` on Linux and macOS). Windows (32-bit CK_ULONG, packed structs) is not
// supported. Functions are the module's exported C_* symbols, which every module we know
// exports (SoftHSM2, opensc, YubiHSM, CloudHSM); C_GetFunctionList is not used.

export const CKF_SERIAL_SESSION = 0x4;
export const CKF_OS_LOCKING_OK = 0x2;
export const CKU_USER = 1;
export const CKA_CLASS = 0x0;
export const CKA_LABEL = 0x3;
export const CKA_KEY_TYPE = 0x100;
export const CKA_ID = 0x102;
export const CKA_EC_PARAMS = 0x180;
export const CKA_EC_POINT = 0x181;
export const CKO_PUBLIC_KEY = 2;
export const CKO_PRIVATE_KEY = 3;
export const CKK_EC_EDWARDS = 0x40;
export const CKM_EDDSA = 0x1057;

const CKR_NAMES: Record<number, string> = {
  0x0: "CKR_OK", 0x5: "CKR_GENERAL_ERROR", 0x6: "CKR_FUNCTION_FAILED", 0x7: "CKR_ARGUMENTS_BAD", 0x30: "CKR_DEVICE_ERROR",
  0x31: "CKR_DEVICE_MEMORY", 0x32: "CKR_DEVICE_REMOVED", 0x60: "CKR_KEY_HANDLE_INVALID", 0x63: "CKR_KEY_TYPE_INCONSISTENT",
  0x68: "CKR_KEY_FUNCTION_NOT_PERMITTED", 0x70: "CKR_MECHANISM_INVALID", 0x90: "CKR_OPERATION_ACTIVE", 0xa0: "CKR_PIN_INCORRECT",
  0xa4: "CKR_PIN_LOCKED", 0xa2: "CKR_PIN_LEN_RANGE", 0xb0: "CKR_SESSION_CLOSED", 0xb3: "CKR_SESSION_HANDLE_INVALID",
  0xe0: "CKR_TOKEN_NOT_PRESENT", 0xe1: "CKR_TOKEN_NOT_RECOGNIZED", 0x100: "CKR_USER_ALREADY_LOGGED_IN", 0x101: "CKR_USER_NOT_LOGGED_IN",
  0x103: "CKR_USER_TYPE_INVALID", 0x150: "CKR_BUFFER_TOO_SMALL", 0x190: "CKR_CRYPTOKI_NOT_INITIALIZED", 0x191: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
};

export function ckrName(rv: number): string {
  return CKR_NAMES[rv] ?? `CKR_0x${rv.toString(16)}`;
}

type Fn = (...args: unknown[]) => number;

export interface Pkcs11Module {
  readonly path: string;
  C_GetSlotList: Fn;
  C_GetTokenInfo: Fn;
  C_OpenSession: Fn;
  C_CloseSession: Fn;
  C_Login: Fn;
  C_FindObjectsInit: Fn;
  C_FindObjects: Fn;
  C_FindObjectsFinal: Fn;
  C_GetAttributeValue: Fn;
  /**
   * SHA-256 of the PIN each slot was logged in with by this process. PKCS#11 login is per
   * application: a second signer on a logged-in token gets CKR_USER_ALREADY_LOGGED_IN
   * whatever PIN it gives, so its PIN is compared with the one that logged in.
   */
  readonly logins: Map<number, string>;
  /** Drops this user of the module; the last one finalizes it. */
  release(): void;
}

interface Loaded {
  module: Omit<Pkcs11Module, "release">;
  finalize: Fn;
  users: number;
}

// One initialisation per module per process: PKCS#11 state (login, handles) is
// process-wide, and several signers (a ledger key and a witness key) may share a module.
const loaded = new Map<string, Loaded>();

/** The path of koffi's entry point, for worker threads that load it themselves. */
export function koffiEntry(): string {
  return createRequire(import.meta.url).resolve("koffi");
}

/**
 * Loads and initialises the module at `path` (with OS locking: worker threads sign on
 * their own sessions). Throws ERR_CONFIG when the library cannot be loaded.
 */
export function openPkcs11Module(path: string): Pkcs11Module {
  let entry = loaded.get(path);
  if (entry === undefined) {
    let koffi: typeof import("koffi");
    try {
      koffi = createRequire(import.meta.url)("koffi") as typeof import("koffi");
    } catch (cause) {
      throw new LedgerError("ERR_CONFIG", `pkcs11: keys need koffi's prebuilt binary for ${process.platform}-${process.arch}, which is not installed (npm ci installs it where koffi ships one)`, { cause });
    }
    let lib: ReturnType<typeof koffi.load>;
    try {
      lib = koffi.load(path);
    } catch (cause) {
      throw new LedgerError("ERR_CONFIG", `cannot load the PKCS#11 module ${path}: ${(cause as Error).message}`, { cause });
    }
    // Type names are per koffi instance; reuse them when a second module is opened.
    const struct = (name: string, fields: Record<string, string>) => {
      try {
        return koffi.type(name);
      } catch {
        return koffi.struct(name, fields);
      }
    };
    struct("CK_ATTRIBUTE", { type: "unsigned long", pValue: "void *", ulValueLen: "unsigned long" });
    struct("CK_C_INITIALIZE_ARGS", { CreateMutex: "void *", DestroyMutex: "void *", LockMutex: "void *", UnlockMutex: "void *", flags: "unsigned long", pReserved: "void *" });
    const fn = (decl: string): Fn => lib.func(decl) as Fn;
    const initialize = fn("unsigned long C_Initialize(CK_C_INITIALIZE_ARGS *args)");
    const rv = initialize({ CreateMutex: null, DestroyMutex: null, LockMutex: null, UnlockMutex: null, flags: CKF_OS_LOCKING_OK, pReserved: null });
    if (rv !== 0 && rv !== 0x191) throw new LedgerError("ERR_CONFIG", `PKCS#11 module ${path}: C_Initialize failed with ${ckrName(rv)}`, { details: { ckr: ckrName(rv) } });
    entry = {
      users: 0,
      finalize: fn("unsigned long C_Finalize(void *)"),
      module: {
        path,
        logins: new Map(),
        C_GetSlotList: fn("unsigned long C_GetSlotList(uint8_t present, _Inout_ uint8_t *slots, _Inout_ unsigned long *count)"),
        C_GetTokenInfo: fn("unsigned long C_GetTokenInfo(unsigned long slot, _Inout_ uint8_t *info)"),
        C_OpenSession: fn("unsigned long C_OpenSession(unsigned long slot, unsigned long flags, void *app, void *notify, _Out_ unsigned long *session)"),
        C_CloseSession: fn("unsigned long C_CloseSession(unsigned long session)"),
        C_Login: fn("unsigned long C_Login(unsigned long session, unsigned long user, const uint8_t *pin, unsigned long length)"),
        C_FindObjectsInit: fn("unsigned long C_FindObjectsInit(unsigned long session, CK_ATTRIBUTE *template, unsigned long count)"),
        C_FindObjects: fn("unsigned long C_FindObjects(unsigned long session, _Inout_ uint8_t *objects, unsigned long max, _Out_ unsigned long *count)"),
        C_FindObjectsFinal: fn("unsigned long C_FindObjectsFinal(unsigned long session)"),
        C_GetAttributeValue: fn("unsigned long C_GetAttributeValue(unsigned long session, unsigned long object, _Inout_ CK_ATTRIBUTE *template, unsigned long count)"),
      },
    };
    loaded.set(path, entry);
  }
  entry.users++;
  const current = entry;
  let released = false;
  return {
    ...current.module,
    release() {
      if (released) return;
      released = true;
      if (--current.users > 0) return;
      loaded.delete(path);
      current.finalize(null);
    },
  };
}

// Worker-thread source (plain CommonJS, evaluated): signs with CKM_EDDSA on a session of
// its own. Ed25519 in PKCS#11 is single-part (C_SignInit then C_Sign per message), so a
// batch is N init+sign pairs on this thread, never on the event loop.
export const PKCS11_WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const koffi = require(workerData.koffi);
const lib = koffi.load(workerData.modulePath);
const MECH = koffi.struct("CK_MECHANISM", { mechanism: "unsigned long", pParameter: "void *", ulParameterLen: "unsigned long" });
const openSession = lib.func("unsigned long C_OpenSession(unsigned long, unsigned long, void *, void *, _Out_ unsigned long *)");
const signInit = lib.func("unsigned long C_SignInit(unsigned long, CK_MECHANISM *, unsigned long)");
const signOne = lib.func("unsigned long C_Sign(unsigned long, uint8_t *, unsigned long, _Inout_ uint8_t *, _Inout_ unsigned long *)");
const mechanism = { mechanism: ${CKM_EDDSA}, pParameter: null, ulParameterLen: 0 };
let session;
parentPort.on("message", ({ id, packed, lengths }) => {
  if (session === undefined) {
    const out = [0];
    const rv = openSession(workerData.slot, ${CKF_SERIAL_SESSION}, null, null, out);
    if (rv !== 0) return parentPort.postMessage({ id, result: { rv, at: "C_OpenSession" } });
    session = out[0];
  }
  const signatures = new Uint8Array(lengths.length * 64);
  const length = [64];
  const sig = new Uint8Array(64);
  let offset = 0;
  for (let i = 0; i < lengths.length; i++) {
    let rv = signInit(session, mechanism, workerData.key);
    if (rv === 0) {
      length[0] = 64;
      rv = signOne(session, packed.subarray(offset, offset + lengths[i]), lengths[i], sig, length);
      if (rv === 0 && length[0] !== 64) rv = -1;
      signatures.set(sig, i * 64);
    }
    if (rv !== 0) return parentPort.postMessage({ id, result: { rv, at: "C_Sign", session } });
    offset += lengths[i];
  }
  parentPort.postMessage({ id, result: { signatures, session } }, [signatures.buffer]);
});
`;
