import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

// Debian's SoftHSM2 and opensc's pkcs11-tool: installed by `npm run test-tools` (as root,
// apt-get). Missing is a failure with the remedy, never a skip.
const REMEDY = "run `npm run test-tools` (installs Debian's softhsm2 and opensc as root), or apt-get install softhsm2 opensc";

export function softhsmModulePath(): string {
  const candidates = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`SoftHSM2's PKCS#11 module not found (tried ${candidates.join(", ")}): ${REMEDY}`);
  return found;
}

export interface SoftHsmToken {
  /** SOFTHSM2_CONF of this token's own configuration; set in process.env while the token lives. */
  conf: string;
  dir: string;
  modulePath: string;
  label: string;
  pin: string;
  /** A file holding the PIN (mode 0600), for pin-source. */
  pinFile: string;
  /** Runs pkcs11-tool against this token (its own SOFTHSM2_CONF). */
  tool(args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Generates a key pair with pkcs11-tool (`EC:edwards25519`, or another key type) under `label`/`id`. */
  generateKey(label: string, id: string, keyType?: string): Promise<void>;
  /** The public key of `id` as pkcs11-tool --read-object writes it (PEM SubjectPublicKeyInfo). */
  readPublicKeyPem(id: string): Promise<string>;
  /** The pkcs11: URI of key `label` with pin-source. */
  uri(label: string, extra?: string): string;
  close(): Promise<void>;
}

/**
 * A SoftHSM2 token of this test's own: its configuration and token directory in a temp
 * dir, initialised with softhsm2-util. SOFTHSM2_CONF is process-wide for the module, so
 * one token lives at a time in a test process.
 */
export async function createSoftHsmToken(label = "annal-test"): Promise<SoftHsmToken> {
  const modulePath = softhsmModulePath();
  const dir = await mkdtemp(join(tmpdir(), "annal-softhsm-"));
  const tokens = join(dir, "tokens");
  await mkdir(tokens, { mode: 0o700 });
  const conf = join(dir, "softhsm2.conf");
  await writeFile(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const pin = `pin-${Math.random().toString(36).slice(2, 10)}`;
  const pinFile = join(dir, "pin");
  await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const previousConf = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const exec = async (command: string, args: string[]) => {
    try {
      return await run(command, args, { env });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(`${command} not found: ${REMEDY}`, { cause: error });
      throw error;
    }
  };
  await exec("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", `so-${pin}`, "--pin", pin]);
  const tool = (args: string[]) => exec("pkcs11-tool", ["--module", modulePath, "--token-label", label, ...args]);
  return {
    conf, dir, modulePath, label, pin, pinFile, tool,
    async generateKey(keyLabel, id, keyType = "EC:edwards25519") {
      await tool(["--login", "--pin", pin, "--keypairgen", "--key-type", keyType, "--label", keyLabel, "--id", id]);
    },
    async readPublicKeyPem(id) {
      const out = join(dir, `pub-${id}.pem`);
      await tool(["--read-object", "--type", "pubkey", "--id", id, "-o", out]);
      return readFile(out, "utf8");
    },
    uri: (keyLabel, extra = "") => `pkcs11:token=${label};object=${keyLabel}${extra}?module-path=${modulePath}&pin-source=file:${pinFile}`,
    async close() {
      if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previousConf;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
