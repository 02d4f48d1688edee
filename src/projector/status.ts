import type pg from "pg";
import { toBase64 } from "../core/index.js";
import { readFollowerStatus, type FollowerStatus } from "../follower/index.js";
import { createPostgresProofs } from "../store/postgres/proofs.js";
import { followerName, readBuilds, type BuildRow } from "./catalog.js";
import { commitmentLabel } from "./commitment.js";

export interface BuildStatus {
  build: number;
  version: number;
  state: BuildRow["state"];
  schema: string;
  codeHash: string;
  /** `running`, `paused`, `stopped`, `failed`, `idle` (never run). */
  status: string;
  healthy: boolean;
  position: number;
  lagEvents: number;
  lagSeconds: number;
  heartbeatAt: string | null;
  heartbeatAgeSeconds: number | null;
  owner: string | null;
  error: FollowerStatus["error"];
  /** LtHash16 of the rows (label form) at `position`. */
  commitment: string;
  /** The log prefix the rows reflect: its size and Merkle root, and the first signed checkpoint that covers it. */
  log: { treeSize: number; rootHash: string | null; checkpoint: { treeSize: number; rootHash: string } | null };
}

export interface ProjectionStatus {
  name: string;
  /** The build readers see (through the views of `projection_<name>`). */
  active: BuildStatus | null;
  /** Builds replaying beside it, cut over when caught up. */
  building: BuildStatus[];
}

export async function readProjectionStatus(pool: pg.Pool, names: readonly string[]): Promise<ProjectionStatus[]> {
  const builds = (await readBuilds(pool)).filter((b) => names.includes(b.projection) && b.state !== "retired");
  const followers = new Map((await readFollowerStatus(pool, builds.map((b) => followerName(b.projection, b.build)))).map((f) => [f.name, f]));
  const proofs = createPostgresProofs(pool);
  const statuses: ProjectionStatus[] = [];
  for (const name of names) {
    const mine = builds.filter((b) => b.projection === name);
    const describe = async (b: BuildRow): Promise<BuildStatus> => {
      const f = followers.get(followerName(b.projection, b.build));
      const head = f?.headPosition ?? (await proofs.treeSize());
      return {
        build: b.build,
        version: b.version,
        state: b.state,
        schema: b.schema,
        codeHash: b.codeHash,
        status: f?.status ?? "idle",
        healthy: f?.healthy ?? false,
        position: b.position,
        lagEvents: Math.max(0, head - b.position),
        lagSeconds: f?.lagSeconds ?? 0,
        heartbeatAt: f?.heartbeatAt ?? null,
        heartbeatAgeSeconds: f?.heartbeatAgeSeconds ?? null,
        owner: f?.owner ?? null,
        error: f?.error ?? null,
        commitment: commitmentLabel(b.commitment),
        log: await logAt(pool, proofs, b.position),
      };
    };
    const active = mine.find((b) => b.state === "active");
    statuses.push({ name, active: active === undefined ? null : await describe(active), building: await Promise.all(mine.filter((b) => b.state === "building").map(describe)) });
  }
  return statuses;
}

async function logAt(pool: pg.Pool, proofs: ReturnType<typeof createPostgresProofs>, position: number): Promise<BuildStatus["log"]> {
  if (position === 0) return { treeSize: 0, rootHash: null, checkpoint: null };
  const { rows } = await pool.query<{ tree_size: number; root_hash: Buffer }>(
    "SELECT tree_size, root_hash FROM annal.checkpoints WHERE tree_size >= $1 AND tree_size <= (SELECT position FROM annal.durable_head WHERE id = 1) ORDER BY tree_size LIMIT 1",
    [position],
  );
  const checkpoint = rows[0];
  const root = checkpoint?.tree_size === position ? new Uint8Array(checkpoint.root_hash) : await proofs.rootAt(position);
  return {
    treeSize: position,
    rootHash: toBase64(root),
    checkpoint: checkpoint === undefined ? null : { treeSize: checkpoint.tree_size, rootHash: checkpoint.root_hash.toString("base64") },
  };
}
