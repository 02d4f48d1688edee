import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export interface KnownSecret {
  /** What it is (e.g. "dev client secret annal-writer"): reported, never the value. */
  label: string;
  value: string;
}

export interface LeakFinding {
  file: string;
  line: number;
  label: string;
  /** How it appeared: raw, JSON-escaped, URL-encoded or base64. */
  form: string;
}

/** The forms a value takes when a logger, a URL or an encoder passes it on. */
function forms(value: string): Array<[string, string]> {
  const out: Array<[string, string]> = [["raw", value]];
  const add = (form: string, text: string) => {
    if (text !== value && text.length >= 8 && !out.some(([, t]) => t === text)) out.push([form, text]);
  };
  add("JSON-escaped", JSON.stringify(value).slice(1, -1));
  add("URL-encoded", encodeURIComponent(value));
  add("base64", Buffer.from(value).toString("base64").replace(/=+$/, ""));
  add("base64url", Buffer.from(value).toString("base64url"));
  return out;
}

/**
 * Scans every file under `dir` (the run's captured logs) for every known secret in each of
 * its forms. Values shorter than 8 characters are skipped: they would match ordinary text
 * (no secret the suite configures is that short).
 */
export async function findSecretsInLogs(dir: string, secrets: readonly KnownSecret[]): Promise<LeakFinding[]> {
  const findings: LeakFinding[] = [];
  const candidates = secrets.filter((s) => s.value.length >= 8).map((s) => ({ label: s.label, forms: forms(s.value) }));
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  for (const file of files) {
    const lines = (await readFile(file, "utf8")).split("\n");
    lines.forEach((text, index) => {
      for (const secret of candidates) {
        const hit = secret.forms.find(([, form]) => text.includes(form));
        if (hit) findings.push({ file, line: index + 1, label: secret.label, form: hit[0] });
      }
    });
  }
  return findings;
}

/** One line per finding, naming the secret by label only. */
export function describeFindings(findings: readonly LeakFinding[]): string {
  return findings.map((f) => `  ${f.file}:${f.line}: ${f.label} (${f.form})`).join("\n");
}
