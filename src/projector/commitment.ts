import { createBLAKE3 } from "hash-wasm";
import type pg from "pg";
import { createLtHash, LTHASH_BYTES, sha256, toBase64, type LtHash, type LtHashExpand } from "../core/index.js";

/**
 * BLAKE3 in XOF mode, 2048 bytes: the LtHash16 expansion of a row digest
 * (docs/verification.md, "Projection commitments"). hash-wasm runs the same code in
 * Node, Bun and browsers.
 */
export async function createRowExpander(): Promise<LtHashExpand> {
  const blake3 = await createBLAKE3(LTHASH_BYTES * 8);
  return (element) => {
    blake3.init();
    blake3.update(element);
    return blake3.digest("binary");
  };
}

/** How a commitment is shown: SHA-256 of the 2048-byte state, base64, with its scheme. */
export function commitmentLabel(state: Uint8Array): string {
  return `lthash16-blake3:${toBase64(sha256(state))}`;
}

export const EMPTY_COMMITMENT = new Uint8Array(LTHASH_BYTES);

/**
 * Moves the commitment by the row changes this transaction made to `schema` (captured
 * by annal.capture_projection_change) and clears them. Changes that cancel out within
 * the transaction (a row updated twice) cost nothing.
 */
export async function absorbChanges(tx: Pick<pg.ClientBase, "query">, schema: string, commitment: LtHash): Promise<number> {
  const { rows } = await tx.query<{ digest: Buffer; n: number }>({
    name: "annal_projection_changes",
    text: `WITH d AS (DELETE FROM annal.projection_changes WHERE schema_name = $1 RETURNING digest, sign)
           SELECT digest, sum(sign)::int AS n FROM d GROUP BY digest HAVING sum(sign) <> 0`,
    values: [schema],
  });
  for (const row of rows) commitment.add(row.digest, row.n);
  return rows.length;
}

/** The commitment of the rows as they are now, by a full scan: what `verify` compares with the stored one. */
export async function recomputeCommitment(db: Pick<pg.ClientBase, "query">, schema: string, expand: LtHashExpand): Promise<LtHash> {
  const commitment = createLtHash(expand);
  for (const table of await readModelTables(db, schema)) {
    const { rows } = await db.query<{ d: Buffer }>(
      `SELECT sha256(convert_to(jsonb_build_array($1::text, to_jsonb(t))::text, 'UTF8')) AS d FROM ${ident(schema)}.${ident(table)} t`,
      [table],
    );
    for (const row of rows) commitment.add(row.d);
  }
  return commitment;
}

export async function readModelTables(db: Pick<pg.ClientBase, "query">, schema: string): Promise<string[]> {
  const { rows } = await db.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename COLLATE \"C\"", [schema]);
  return rows.map((r) => r.tablename);
}

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
