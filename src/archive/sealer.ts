import type pg from "pg";
import type { Logger } from "pino";
import { ARCHIVE_STREAM, type SegmentSealedData } from "../../events/index.js";
import { canonicalJson, isLedgerError, LedgerError, toBase64, type EventRecord } from "../core/index.js";
import { checkContiguity, readCommittedAfter, startFollower, type Follower, type LogWakeup } from "../follower/index.js";
import type { Ledger, PublicKeyInfo } from "../ledger/types.js";
import { frontierFromInclusionProof, parseCosignerVerifierKey } from "../verify/index.js";
import { segmentObjectName, type BundleKeys } from "../verify/segment-format.js";
import type { ManifestSigner } from "./build-bundle.js";
import { createBundleWorkers, type BundleWorkers } from "./bundle-workers.js";
import type { ObjectStore } from "./object-store.js";
import { assertArchiveLocked } from "./open-store.js";
import { fenced, lastSegment, moveSegment, readSegments, type SegmentRow } from "./segment-rows.js";
import { sha256Base64 } from "./sha.js";

/** A step after which a test may ask the sealer to die (kill -9 of itself), to show recovery. */
export type SealStep = "build" | "upload" | "verify-remote" | "mark-sealed";

export interface SealerDeps {
  pool: pg.Pool;
  connect: () => pg.Client;
  wakeup?: LogWakeup;
  logger?: Logger;
  ledger: Pick<Ledger, "append">;
  publicKeys: () => Promise<PublicKeyInfo[]>;
  inclusionProof: (leafIndex: number, treeSize: number) => Promise<Uint8Array[]>;
  signer: ManifestSigner;
  store: ObjectStore;
}

export interface SealerOptions {
  /** Follower name; one active sealer per name. Default `sealer:default`. */
  name?: string;
  /** Object name prefix (`segments/`). */
  prefix: string;
  /** The least COMPLIANCE retention applied to every segment, and required of the bucket's default. */
  retentionDays: number;
  /** Seal once this many events wait (the size policy); also the most events per segment, unless one commit batch is larger. */
  segmentEvents: number;
  /** Seal once the oldest unsealed event is this old (the age policy). */
  segmentAgeSeconds: number;
  /** Cosigner verifier keys: when any are configured, segments end only at checkpoints every one of them cosigned. */
  witnesses: readonly string[];
  /** How often the sealer looks at the policy when no batch woke it. Default 5000 ms. */
  tickMs?: number;
  /** Test hook: SIGKILL this process right after the step (refused in production by the caller). */
  crashAfter?: SealStep;
  /** Events read per query while building. Default 5000. */
  readPageSize?: number;
}

export interface SealerStatus {
  name: string;
  state: string;
  archive: string;
  worm: boolean;
  lastSealed: { segment: number; from: number; to: number } | null;
  /** A segment stuck on a conflict or a failed verification; the sealer halts on it. */
  halted: { segment: number; reason: string } | null;
  lastError: string | null;
}

export interface SealerService {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Promise<SealerStatus>;
  /** Seals every event already covered by a signed (witnessed) checkpoint, whatever the policy; resolves with the segments sealed. */
  sealNow(options?: { timeoutMs?: number }): Promise<SegmentRow[]>;
  readonly follower: Follower | undefined;
}

/**
 * The sealer: a log follower (one active per name, fenced) that cuts the log into
 * segments at signed checkpoints and moves each through the protocol recorded in
 * annal.archive_segments: plan → build → verify locally → upload → verify remotely →
 * mark sealed → SegmentSealed event. The follower checks every event's position and
 * prevHash link and holds the lease; sealing is driven by the size and age policy and by
 * checkpoints (a witnessed one when witnesses are configured), not by batches, so it runs
 * beside the cursor: every step is written in a transaction fenced by the lease's epoch,
 * and a crash at any step is finished by the next run. An uploaded version with the
 * recorded bytes is adopted; any other version at the key is a conflict: the sealer
 * halts and alerts, and never overwrites or deletes.
 */
export function createSealerService(deps: SealerDeps, options: SealerOptions): SealerService {
  const name = options.name ?? "sealer:default";
  const logger = deps.logger?.child({ component: "sealer", archive: deps.store.description });
  const tickMs = options.tickMs ?? 5000;
  const pageSize = options.readPageSize ?? 5000;
  const witnesses = options.witnesses.map((vkey) => {
    const key = parseCosignerVerifierKey(vkey);
    if (!key) throw new LedgerError("ERR_CONFIG", `witness key ${vkey} is malformed`);
    return { vkey, name: key.name };
  });
  let workers: BundleWorkers | undefined;
  let follower: Follower | undefined;
  let epoch: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let halted: { segment: number; reason: string } | null = null;
  let lastError: string | null = null;
  let stopping = false;

  const running = () => !stopping && epoch !== undefined && follower?.state === "running";

  /** Runs ticks one at a time; a failed tick is logged and retried by the timer. */
  function kick(force?: { upTo: number }): Promise<void> {
    const next = chain.then(() => tick(force));
    chain = next.catch((error: unknown) => {
      lastError = error instanceof Error ? error.message : String(error);
      if (isLedgerError(error, "ERR_FENCED")) logger?.warn({ err: error }, "sealer fenced out; another instance owns the archive");
      else if (isLedgerError(error) && error.retriable) logger?.warn({ err: error }, "sealing step failed; will retry");
      else logger?.error({ err: error }, "sealing step failed; will retry");
    });
    return next;
  }

  async function tick(force?: { upTo: number }): Promise<void> {
    if (!running() || halted) return;
    for (;;) {
      for (const row of await readSegments(deps.pool, "state <> 'sealed' OR sealed_event_position IS NULL")) {
        await advance(row);
        if (halted) return;
      }
      if (!running() || !(await plan(force))) break;
    }
    lastError = null;
  }

  /** Plans the next segment when the policy (or `force`) says so; false when there is nothing to seal yet. */
  async function plan(force?: { upTo: number }): Promise<boolean> {
    return fenced(deps.pool, name, epoch!, async (tx) => {
      const last = await lastSegment(tx);
      if (last && last.state !== "sealed") return false;
      const from = (last?.to ?? 0) + 1;
      const { rows: cursor } = await tx.query<{ position: number }>("SELECT position FROM annal.followers WHERE name = $1", [name]);
      // Only events the follower has checked (position and prevHash link) are sealed.
      const checked = Number(cursor[0]?.position ?? 0);
      // `seal --now` waits for the follower to reach its target, so segments are cut as the policy would cut them.
      if (force && checked < force.upTo) return false;
      const observed = Math.min(checked, force?.upTo ?? Number.MAX_SAFE_INTEGER);
      if (observed < from) return false;
      const cap = from - 1 + options.segmentEvents;
      let due = force !== undefined || observed >= cap;
      if (!due) {
        // The age policy counts only events other than the archive's own SegmentSealed
        // events, or an idle log would seal a one-event segment every period forever.
        const { rows } = await tx.query<{ due: boolean }>(
          `SELECT EXISTS (SELECT 1 FROM annal.events WHERE position BETWEEN $1 AND $2 AND stream_id <> $3)
             AND (SELECT recorded_at::timestamptz FROM annal.events WHERE position = $1) <= now() - make_interval(secs => $4) AS due`,
          [from, observed, ARCHIVE_STREAM, options.segmentAgeSeconds],
        );
        due = rows[0]?.due === true;
      }
      if (!due) return false;
      const end = await pickCheckpoint(tx, from, Math.min(observed, cap), observed);
      if (!end) return false;
      const keys: BundleKeys = {
        ledger: (await deps.publicKeys()).map((k) => ({ keyId: k.keyId, publicKey: k.publicKey, noteVerifierKey: k.noteVerifierKey })),
        witnesses: witnesses.map((w) => w.vkey),
      };
      const segment = (last?.segment ?? 0) + 1;
      await tx.query(
        `INSERT INTO annal.archive_segments (segment, from_position, to_position, object_name, state, checkpoint_note, keys_json, previous_manifest_hash)
         VALUES ($1, $2, $3, $4, 'planned', $5, $6, $7)`,
        [segment, from, end.treeSize, segmentObjectName(options.prefix, from, end.treeSize), end.note, canonicalJson(keys as unknown), last?.manifestHash ?? null],
      );
      logger?.info({ segment, from, to: end.treeSize }, "planned a segment");
      return true;
    });
  }

  /** The largest signed (and, with witnesses, fully cosigned) checkpoint in [from, upTo], else the smallest beyond it up to `observed`. */
  async function pickCheckpoint(tx: pg.PoolClient, from: number, upTo: number, observed: number): Promise<{ treeSize: number; note: string } | undefined> {
    const names = witnesses.map((w) => w.name);
    const witnessed = `(cardinality($3::text[]) = 0 OR (SELECT count(*) FROM annal.cosignatures s WHERE s.tree_size = c.tree_size AND s.witness = ANY($3::text[])) = cardinality($3::text[]))`;
    const durable = "c.tree_size <= (SELECT position FROM annal.durable_head WHERE id = 1)";
    let { rows } = await tx.query<{ tree_size: number; note: string }>(
      `SELECT c.tree_size, c.note FROM annal.checkpoints c WHERE c.tree_size BETWEEN $1 AND $2 AND ${durable} AND ${witnessed} ORDER BY c.tree_size DESC LIMIT 1`,
      [from, upTo, names],
    );
    if (rows.length === 0 && observed > upTo) {
      ({ rows } = await tx.query<{ tree_size: number; note: string }>(
        `SELECT c.tree_size, c.note FROM annal.checkpoints c WHERE c.tree_size BETWEEN $1 AND $2 AND ${durable} AND ${witnessed} ORDER BY c.tree_size LIMIT 1`,
        [upTo + 1, observed, names],
      ));
    }
    const row = rows[0];
    if (!row) return undefined;
    const { rows: lines } = await tx.query<{ line: string }>("SELECT line FROM annal.cosignatures WHERE tree_size = $1 AND witness = ANY($2::text[]) ORDER BY witness", [row.tree_size, names]);
    return { treeSize: Number(row.tree_size), note: row.note + lines.map((l) => l.line).join("") };
  }

  async function readRange(from: number, to: number): Promise<EventRecord[]> {
    const { rows } = await deps.pool.query<{ hash: Buffer }>("SELECT hash FROM annal.events WHERE position = $1", [from - 1]);
    let cursor = { position: from - 1, hash: from === 1 ? toBase64(new Uint8Array(32)) : rows[0]!.hash.toString("base64") };
    const events: EventRecord[] = [];
    while (cursor.position < to) {
      const page = (await readCommittedAfter(deps.pool, cursor.position, Math.min(pageSize, to - cursor.position))).filter((e) => e.position <= to);
      if (page.length === 0) throw new LedgerError("ERR_LOG_GAP", `position ${cursor.position + 1} is not in the log`, { details: { position: cursor.position + 1 } });
      const verdict = checkContiguity(cursor, page);
      if (!verdict.ok) throw new LedgerError(verdict.code, verdict.reason, { details: { position: verdict.position } });
      for (const e of page) events.push(e);
      const last = page[page.length - 1]!;
      cursor = { position: last.position, hash: last.hash };
    }
    return events;
  }

  async function build(row: SegmentRow) {
    const events = await readRange(row.from, row.to);
    const proof = row.from === 1 ? [] : await deps.inclusionProof(row.from - 1, row.to);
    const frontier = { size: row.from - 1, hashes: row.from === 1 ? [] : frontierFromInclusionProof(row.from - 1, row.to, proof) };
    const keys = JSON.parse(row.keysJson) as BundleKeys;
    // Built and verified on a worker thread, with the same code an auditor runs, before anything leaves the machine.
    const built = await workers!.build({ segment: row.segment, events, frontier, checkpointNote: row.checkpointNote, keys, previous: row.previousManifestHash ?? undefined }, deps.signer, {
      keys: keys.ledger.map((k) => k.noteVerifierKey),
      options: { witnesses: keys.witnesses, ...(row.previousManifestHash ? { previousManifestHash: row.previousManifestHash } : {}) },
    });
    const verdict = built.verdict;
    if (!verdict.ok) throw new LedgerError("ERR_CHAIN_BROKEN", `segment ${row.segment} does not verify locally (${verdict.file}${verdict.position ? ` at ${verdict.position}` : ""}): ${verdict.reason}`, { details: { position: verdict.position ?? row.from } });
    return built;
  }

  function crashPoint(step: SealStep): void {
    if (options.crashAfter === step) {
      logger?.warn({ step }, "test hook: killing this process");
      process.kill(process.pid, "SIGKILL");
    }
  }

  async function halt(row: SegmentRow, reason: string): Promise<void> {
    halted = { segment: row.segment, reason };
    logger?.error({ segment: row.segment, object: row.objectName, reason }, "ARCHIVE CONFLICT: sealing halted; nothing was overwritten or deleted");
    await fenced(deps.pool, name, epoch!, (tx) => moveSegment(tx, row.segment, row.state, "conflict", { error: reason }));
  }

  /** Moves one segment through the rest of the protocol; each step is recorded before the next. */
  async function advance(row: SegmentRow): Promise<void> {
    if (row.state === "conflict") {
      halted = { segment: row.segment, reason: row.error ?? "conflict" };
      logger?.error({ segment: row.segment, reason: row.error }, "ARCHIVE CONFLICT: sealing stays halted until an operator resolves it");
      return;
    }
    let bytes: Uint8Array | undefined;
    if (row.state === "planned") {
      const built = await build(row);
      bytes = built.bytes;
      await fenced(deps.pool, name, epoch!, (tx) => moveSegment(tx, row.segment, "planned", "built", { bundle_sha256: built.sha256, bundle_bytes: built.bytes.length, manifest_hash: built.manifestHash }));
      row = { ...row, state: "built", bundleSha256: built.sha256, bundleBytes: built.bytes.length, manifestHash: built.manifestHash };
      crashPoint("build");
    }
    if (row.state === "built") {
      const versions = (await deps.store.listVersions(row.objectName)).filter((v) => v.name === row.objectName);
      let versionId: string | undefined;
      if (versions.length > 0) {
        // A run that died after its upload: adopt the version only if it holds exactly the recorded bytes.
        for (const v of versions) {
          const same = !v.deleteMarker && sha256Base64(await deps.store.get(row.objectName, v.versionId)) === row.bundleSha256;
          if (!same) return halt(row, `${row.objectName} already has version ${v.versionId}${v.deleteMarker ? " (a delete marker)" : ""} with other bytes than segment ${row.segment}`);
          versionId ??= v.versionId;
        }
        if (versions.length > 1) return halt(row, `${row.objectName} has ${versions.length} versions; a sealed segment has exactly one`);
        logger?.info({ segment: row.segment, object: row.objectName, versionId }, "adopted the version uploaded before a crash");
      } else {
        if (!bytes) {
          const rebuilt = await build(row);
          if (rebuilt.sha256 !== row.bundleSha256) {
            // Nothing was uploaded, so the new bytes may be recorded (a payload redacted since the plan changes them).
            logger?.warn({ segment: row.segment }, "the rebuilt bundle differs from the one recorded before the crash; nothing was uploaded, recording the new one");
            await fenced(deps.pool, name, epoch!, (tx) => moveSegment(tx, row.segment, "built", "built", { bundle_sha256: rebuilt.sha256, bundle_bytes: rebuilt.bytes.length, manifest_hash: rebuilt.manifestHash }));
            row = { ...row, bundleSha256: rebuilt.sha256, bundleBytes: rebuilt.bytes.length, manifestHash: rebuilt.manifestHash };
          }
          bytes = rebuilt.bytes;
        }
        versionId = (await deps.store.put(row.objectName, bytes)).versionId;
      }
      crashPoint("upload");
      const required = new Date(Date.now() + options.retentionDays * 86_400_000);
      required.setUTCMilliseconds(0);
      const current = await deps.store.getRetention(row.objectName, versionId!);
      if (current.mode !== "COMPLIANCE" || !current.retainUntil || current.retainUntil < required) await deps.store.setRetention(row.objectName, versionId!, required);
      const retainUntil = current.mode === "COMPLIANCE" && current.retainUntil && current.retainUntil > required ? current.retainUntil : required;
      await fenced(deps.pool, name, epoch!, (tx) => moveSegment(tx, row.segment, "built", "uploaded", { version_id: versionId, retain_until: retainUntil }));
      row = { ...row, state: "uploaded", versionId: versionId!, retainUntil };
    }
    if (row.state === "uploaded") {
      const problem = await verifyRemote(row);
      if (problem) return halt(row, problem);
      await fenced(deps.pool, name, epoch!, (tx) => moveSegment(tx, row.segment, "uploaded", "verified"));
      row = { ...row, state: "verified" };
      crashPoint("verify-remote");
    }
    if (row.state === "verified") {
      await fenced(deps.pool, name, epoch!, (tx) => moveSegment(tx, row.segment, "verified", "sealed", { sealed_at: new Date() }));
      row = { ...row, state: "sealed" };
      crashPoint("mark-sealed");
    }
    if (row.state === "sealed" && row.sealedEventPosition === null) {
      const data: SegmentSealedData = {
        segment: row.segment,
        from: row.from,
        to: row.to,
        object: row.objectName,
        versionId: row.versionId!,
        bundleSha256: row.bundleSha256!,
        manifestHash: row.manifestHash!,
        retainUntil: row.retainUntil!.toISOString(),
        archive: deps.store.description,
        worm: deps.store.worm,
      };
      // The idempotency key makes a repeat after a crash answer the first append.
      const receipt = await deps.ledger.append({ streamId: ARCHIVE_STREAM, events: [{ type: "SegmentSealed", data: data as unknown as Record<string, never> }], principal: "annal", idempotencyKey: `segment-sealed-${row.segment}` });
      const position = receipt.events[0]!.position;
      await fenced(deps.pool, name, epoch!, (tx) => moveSegment(tx, row.segment, "sealed", "sealed", { sealed_event_position: position }));
      logger?.info({ segment: row.segment, from: row.from, to: row.to, object: row.objectName, versionId: row.versionId, worm: deps.store.worm }, "sealed a segment");
    }
  }

  /** The remote checks of a segment: its only version, COMPLIANCE until at least the recorded date, the recorded bytes. */
  async function verifyRemote(row: SegmentRow): Promise<string | undefined> {
    const versions = (await deps.store.listVersions(row.objectName)).filter((v) => v.name === row.objectName);
    if (versions.length !== 1 || versions[0]!.versionId !== row.versionId || versions[0]!.deleteMarker) {
      return `${row.objectName} must have exactly its version ${row.versionId}; it has ${versions.map((v) => `${v.versionId}${v.deleteMarker ? " (delete marker)" : ""}`).join(", ") || "none"}`;
    }
    const retention = await deps.store.getRetention(row.objectName, row.versionId);
    if (retention.mode !== "COMPLIANCE") return `${row.objectName} version ${row.versionId} is not in COMPLIANCE mode (${retention.mode ?? "no retention"})`;
    if (!retention.retainUntil || retention.retainUntil < row.retainUntil!) return `${row.objectName} version ${row.versionId} is retained until ${retention.retainUntil?.toISOString() ?? "never"}, before ${row.retainUntil!.toISOString()}`;
    const bytes = await deps.store.get(row.objectName, row.versionId);
    if (sha256Base64(bytes) !== row.bundleSha256) return `${row.objectName} version ${row.versionId} does not hold the sealed bytes`;
    return undefined;
  }

  return {
    get follower() {
      return follower;
    },
    async start() {
      await assertArchiveLocked(deps.store, options.retentionDays);
      if (!deps.store.worm) logger?.warn("the archive is a local directory: NOT WORM, development only");
      stopping = false;
      workers = createBundleWorkers(1);
      follower = startFollower({ pool: deps.pool, connect: deps.connect, ...(deps.wakeup ? { wakeup: deps.wakeup } : {}), ...(deps.logger ? { logger: deps.logger } : {}) }, { name }, {
        start(context) {
          epoch = context.epoch;
          halted = null;
          void kick();
          return Promise.resolve();
        },
        // The follower checks positions and links and moves the cursor; the segments are cut by policy, below.
        handle: () => Promise.resolve(),
        committed: () => void kick(),
      });
      timer = setInterval(() => void kick(), tickMs);
      timer.unref();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      await chain;
      await follower?.stop();
      await workers?.close();
      workers = undefined;
    },
    async status() {
      const segments = await readSegments(deps.pool, "state = 'sealed' AND segment = (SELECT max(segment) FROM annal.archive_segments WHERE state = 'sealed')");
      const last = segments[0];
      return {
        name,
        state: follower?.state ?? "stopped",
        archive: deps.store.description,
        worm: deps.store.worm,
        lastSealed: last ? { segment: last.segment, from: last.from, to: last.to } : null,
        halted,
        lastError,
      };
    },
    async sealNow({ timeoutMs = 120_000 } = {}) {
      const names = witnesses.map((w) => w.name);
      const { rows } = await deps.pool.query<{ tree_size: number }>(
        `SELECT max(c.tree_size) AS tree_size FROM annal.checkpoints c WHERE c.tree_size <= (SELECT position FROM annal.durable_head WHERE id = 1)
           AND (cardinality($1::text[]) = 0 OR (SELECT count(*) FROM annal.cosignatures s WHERE s.tree_size = c.tree_size AND s.witness = ANY($1::text[])) = cardinality($1::text[]))`,
        [names],
      );
      const target = Number(rows[0]?.tree_size ?? 0);
      // Segments planned by an earlier call that failed are finished (and reported) by this one.
      const { rows: done } = await deps.pool.query<{ segment: number | null }>("SELECT max(segment) AS segment FROM annal.archive_segments WHERE state = 'sealed' AND sealed_event_position IS NOT NULL");
      const before = Number(done[0]?.segment ?? 0);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const last = await lastSegment(deps.pool);
        if (halted) throw new LedgerError("ERR_CONFLICT", `sealing is halted at segment ${halted.segment}: ${halted.reason}`);
        if ((last?.to ?? 0) >= target && (!last || (last.state === "sealed" && last.sealedEventPosition !== null))) break;
        if (Date.now() > deadline) throw new LedgerError("ERR_UNAVAILABLE", `sealing up to ${target} did not finish in ${timeoutMs} ms (${follower?.state === "standby" ? "another sealer holds the lease" : (lastError ?? "still working")})`, { retriable: true });
        if (running()) await kick({ upTo: target });
        await new Promise((r) => setTimeout(r, 100));
      }
      return readSegments(deps.pool, "segment > $1", [before]);
    },
  };
}
