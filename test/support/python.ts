// The independent Python verifier's environment (test/interop/python-verifier/), shared by
// the tests that run it. Needs python3 (3.9+) with venv on PATH: without it the tests FAIL.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PYTHON_VERIFIER_DIR = fileURLToPath(new URL("../interop/python-verifier/", import.meta.url));
const DIR = PYTHON_VERIFIER_DIR;

/** A virtual environment with the pinned requirements, reused while they are unchanged. */
export function pythonWithRequirements(): string {
  const requirements = readFileSync(join(DIR, "requirements.txt"));
  const venv = fileURLToPath(new URL(`../../node_modules/.cache/annal-python-verifier/${createHash("sha256").update(requirements).digest("hex").slice(0, 12)}/`, import.meta.url));
  const python = join(venv, "bin", "python");
  if (existsSync(python)) return python;
  const step = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { encoding: "utf8", timeout: 240_000 });
    if (result.error || result.status !== 0) {
      throw new Error(`${command} ${args.join(" ")} failed (python3 3.9+ with venv is needed on PATH, and PyPI reachable): ${String(result.error ?? result.stderr)}`);
    }
  };
  // Built beside its final place and renamed when complete, so a concurrent run or an
  // interrupted install never leaves a half-made environment under the final name.
  const building = `${venv.replace(/\/$/, "")}.${process.pid}.tmp`;
  rmSync(building, { recursive: true, force: true });
  step("python3", ["-m", "venv", building]);
  step(join(building, "bin", "python"), ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", join(DIR, "requirements.txt")]);
  try {
    renameSync(building, venv.replace(/\/$/, ""));
  } catch {
    rmSync(building, { recursive: true, force: true }); // another run finished first
  }
  return python;
}

