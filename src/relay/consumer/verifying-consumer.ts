import { createMerkleAccumulator, decodeHash, equalBytes, fromBase64, isCanonicalSignature, leafHash, LedgerError, toBase64, ZERO_HASH, type EventRecord, type SignatureVerifier } from "../../core/index.js";
import { verifyCosignature, type CosignerKey } from "../../verify/cosignature.js";
import { verifyEvent } from "../../verify/event.js";
import { createKeyFollower } from "../../verify/key-windows.js";
import type { TrustedKey } from "../../verify/keys.js";
import type { KafkaPort } from "../kafka-port.js";
import { partitionFor } from "../record-format.js";
import type { BackfillSource } from "./backfill.js";
import { decodeRecord, type DecodedRecord } from "./decode.js";

/** What the consumer trusts: configuration, never anything read from Kafka. */
export interface KafkaTrust {
  /**
   * The ledger's public keys (see annal/verify parseTrustedKey). Keys are followed along the
   * log: a KeyRotated event verified in order adds the next key. Since partitions are read
   * side by side, the next key's events may arrive before the rotation is taken; give the
   * next key here too during a rotation's overlap (docs/operations.md "Key rotation").
   */
  keys: readonly TrustedKey[];
  /** The log's origin (checkpoint origin, ce_source). */
  origin: string;
  /** Witness cosigner keys; a checkpoint counts as proven with `quorum` valid cosignatures. */
  witnesses?: readonly CosignerKey[];
  /** Default: every listed witness. */
  quorum?: number;
}

export type IncidentKind = "duplicate" | "gap" | "reorder" | "fork" | "tamper";

export interface Incident {
  kind: IncidentKind;
  partition: number | undefined;
  offset: number | undefined;
  position: number | undefined;
  reason: string;
  /** Fork and tamper: the records involved, as received (and as accepted before). */
  evidence?: unknown[];
}

/** Where the consumer stands; store it with your read model, in the same transaction. */
export interface ConsumerCursor {
  version: 1;
  topic: string;
  partitions: number;
  /** Per partition: the next offset to read. */
  offsets: number[];
  /** Per partition: the last event position taken from it. */
  lastPositions: number[];
  /** The last event position handed over (all before it were too). */
  position: number;
  /** Its hash (base64); the zero hash at 0. */
  hash: string;
  /** The Merkle tree of positions 1..position: roots of its perfect subtrees (base64), largest first. */
  frontier: string[];
}

export interface VerifiedBatch {
  /** Consecutive, verified events in position order. */
  events: readonly EventRecord[];
  /** The cursor after these events. */
  cursor: ConsumerCursor;
  /** The largest checkpoint verified against these events, if any (tree size, witnessed by quorum). */
  checkpoint?: { treeSize: number; witnessed: boolean };
}

export interface ConsumerSummary {
  position: number;
  events: number;
  duplicates: number;
  gaps: number;
  backfilled: number;
  reorders: number;
  checkpoints: number;
  witnessedCheckpoints: number;
  incidents: number;
}

/** One Ed25519 check: the event hash signed by a trusted key. */
export interface SignatureCheck {
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

export interface VerifyingConsumerDeps {
  kafka: KafkaPort;
  /**
   * Checks many signatures at once (e.g. on worker threads): answers the index of the
   * first that fails, or -1. Without it, each record's signature is checked as it is decoded.
   */
  verifySignatures?: (checks: readonly SignatureCheck[]) => Promise<number>;
  /** Fills gaps from the Annal HTTP API; without it a gap halts with ERR_KAFKA_GAP. */
  backfill?: BackfillSource;
  verifySignature?: SignatureVerifier;
  onIncident?: (incident: Incident) => void;
}

export interface VerifyingConsumerOptions {
  topic: string;
  trust: KafkaTrust;
  /** Where to resume (as stored by your apply); from the start of the topic when absent. */
  cursor?: ConsumerCursor;
  /** Most events per apply call. Default 1000. */
  maxBatch?: number;
  /** How long a missing position may stay missing before it is a gap, when no header proves it. Default 3 s. */
  gapGraceMs?: number;
  /** How long one fetch waits for new records. Default 200 ms. */
  fetchWaitMs?: number;
  /** Accepted records kept as fork evidence, and hashes kept for duplicate checks. Default 100,000. */
  window?: number;
}

export interface RunOptions {
  /** Called with every batch of verified events: apply them and store `batch.cursor` in one transaction. */
  apply: (batch: VerifiedBatch) => Promise<void>;
  signal?: AbortSignal;
  /** Return once every partition is read to its end (a whole-topic check). Default false: follow. */
  stopWhenCaughtUp?: boolean;
  /** Progress after each apply. */
  onProgress?: (summary: ConsumerSummary) => void;
}

interface Partition {
  fetchOffset: number;
  buffer: DecodedRecord[];
  last: number;
  drained: boolean;
}

/**
 * A Kafka consumer that treats the topic as an untrusted mirror of the log. It reads every
 * partition of the topic, merges them back into position order, and hands the
 * application only events whose signature, hashes, global chain, per-stream chain and
 * partition continuity it has checked, with the Merkle root of every checkpoint that
 * control records carry compared against the events themselves.
 *
 * Duplicates are dropped; a record found later in its partition than its position says is
 * a reorder (taken in order); a missing position is a gap, filled from the Annal HTTP API
 * and verified like the rest; a signed record contradicting one already accepted is a fork
 * and anything that fails verification is tamper: both halt (ERR_KAFKA_FORK,
 * ERR_KAFKA_TAMPER) with the records as evidence.
 *
 * @example
 * const consumer = createVerifyingConsumer({ kafka, backfill }, { topic: "annal.events", trust, cursor: await loadCursor() });
 * await consumer.run({ async apply({ events, cursor }) { await db.tx(async (tx) => { await project(tx, events); await saveCursor(tx, cursor); }); } });
 */
export function createVerifyingConsumer(deps: VerifyingConsumerDeps, options: VerifyingConsumerOptions) {
  const { kafka } = deps;
  const { trust, topic } = options;
  const maxBatch = options.maxBatch ?? 1000;
  const gapGraceMs = options.gapGraceMs ?? 3000;
  const fetchWaitMs = options.fetchWaitMs ?? 200;
  const window = options.window ?? 100_000;
  const quorum = trust.quorum ?? trust.witnesses?.length ?? 0;
  const sigOptions = deps.verifySignature ? { verifySignature: deps.verifySignature } : {};
  // Events are accepted in position order, so the key in force is followed there; the
  // keys derived so far join the trusted ones for decoding.
  const follower = createKeyFollower(trust.keys, { ...sigOptions, origin: trust.origin });
  const keysNow = (): readonly TrustedKey[] => [...trust.keys, ...follower.windows.filter((w) => !trust.keys.some((k) => k.keyId === w.keyId))];
  const summary: ConsumerSummary = { position: 0, events: 0, duplicates: 0, gaps: 0, backfilled: 0, reorders: 0, checkpoints: 0, witnessedCheckpoints: 0, incidents: 0 };

  let partitionCount = 0;
  let parts: Partition[] = [];
  let position = 0;
  let prevHash: Uint8Array = ZERO_HASH;
  let tree = createMerkleAccumulator();
  const fresh = options.cursor === undefined || options.cursor.position === 0;
  const streams = new Map<string, { version: number; hash: Uint8Array }>();
  // Hashes of the last `window` positions (ring), for duplicate-or-fork decisions.
  const ringHashes = new Uint8Array(window * 32);
  const ringPositions = new Float64Array(window).fill(-1);
  const accepted = new Map<number, EventRecord>();
  const backfilledPositions = new Set<number>();
  let pending: EventRecord[] = [];
  let pendingCheckpoint: VerifiedBatch["checkpoint"];
  let missingSince: number | undefined;

  function incident(i: Incident): void {
    summary.incidents++;
    deps.onIncident?.(i);
  }

  function halt(i: Incident): never {
    incident(i);
    const code = i.kind === "fork" ? "ERR_KAFKA_FORK" : i.kind === "gap" ? "ERR_KAFKA_GAP" : "ERR_KAFKA_TAMPER";
    throw new LedgerError(code, `${i.kind} at ${i.position === undefined ? "" : `position ${i.position}, `}partition ${i.partition ?? "-"} offset ${i.offset ?? "-"}: ${i.reason}`, {
      details: { incident: i, ...(i.position === undefined ? {} : { position: i.position }) },
    });
  }

  async function init(): Promise<void> {
    const described = await kafka.describeTopic(topic);
    if (described === undefined) throw new LedgerError("ERR_KAFKA_TOPIC", `topic ${topic} does not exist`, { retriable: true, details: { topic } });
    partitionCount = described.partitions;
    const cursor = options.cursor;
    if (cursor !== undefined) {
      if (cursor.version !== 1 || cursor.topic !== topic) throw new LedgerError("ERR_INVALID_INPUT", `the cursor is for topic ${cursor.topic}, not ${topic}`);
      if (cursor.partitions !== partitionCount) halt({ kind: "tamper", partition: undefined, offset: undefined, position: cursor.position, reason: `topic ${topic} has ${partitionCount} partitions; the cursor was written with ${cursor.partitions}` });
      const hashes = cursor.frontier.map((h) => decodeHash(h));
      const head = decodeHash(cursor.hash);
      if (hashes.some((h) => !h) || !head) throw new LedgerError("ERR_INVALID_INPUT", "the cursor's hashes are malformed");
      tree = createMerkleAccumulator({ size: cursor.position, hashes: hashes as Uint8Array[] });
      position = cursor.position;
      prevHash = head;
    }
    parts = Array.from({ length: partitionCount }, (_, p) => ({ fetchOffset: cursor?.offsets[p] ?? 0, buffer: [], last: cursor?.lastPositions[p] ?? 0, drained: false }));
    summary.position = position;
  }

  function cursorNow(): ConsumerCursor {
    return {
      version: 1,
      topic,
      partitions: partitionCount,
      // Resume at the first record not taken: records skipped over by a reorder are read again (and dropped as duplicates).
      offsets: parts.map((p) => (p.buffer.length > 0 ? Math.min(...p.buffer.map((r) => r.offset)) : p.fetchOffset)),
      lastPositions: parts.map((p) => p.last),
      position,
      hash: toBase64(prevHash),
      frontier: tree.frontier().hashes.map(toBase64),
    };
  }

  function remember(record: EventRecord, hash: Uint8Array): void {
    const slot = record.position % window;
    ringHashes.set(hash, slot * 32);
    ringPositions[slot] = record.position;
    accepted.set(record.position, record);
    if (accepted.size > Math.min(window, 10_000)) accepted.delete(accepted.keys().next().value!);
  }

  function knownHash(p: number): Uint8Array | undefined {
    const slot = p % window;
    return ringPositions[slot] === p ? ringHashes.subarray(slot * 32, slot * 32 + 32) : undefined;
  }

  /** Global chain, stream chain, tree. The record's own signature and hashes were verified already. */
  function accept(record: EventRecord, where: { partition: number | undefined; offset: number | undefined }): void {
    const key = follower.resolve(record);
    if (!key.ok) halt({ kind: "tamper", ...where, position: record.position, reason: `${key.reason} (${key.code})`, evidence: [record] });
    const hash = decodeHash(record.hash)!;
    const evidence = () => [accepted.get(record.position - 1) ?? { position: record.position - 1, hash: toBase64(prevHash) }, record];
    if (!equalBytes(decodeHash(record.prevHash)!, prevHash)) halt({ kind: "fork", ...where, position: record.position, reason: `a signed event at position ${record.position} does not link to the event at ${position} accepted before (another history)`, evidence: evidence() });
    const stream = streams.get(record.streamId);
    if (stream !== undefined || fresh) {
      const version = (stream?.version ?? 0) + 1;
      if (record.streamVersion !== version || !equalBytes(decodeHash(record.streamPrevHash)!, stream?.hash ?? ZERO_HASH)) {
        halt({ kind: "fork", ...where, position: record.position, reason: `stream ${record.streamId}: version ${record.streamVersion} does not follow version ${version - 1} accepted before`, evidence: [record] });
      }
    }
    streams.set(record.streamId, { version: record.streamVersion, hash });
    tree.append(leafHash(hash));
    prevHash = hash;
    position = record.position;
    const p = partitionFor(record.streamId, partitionCount);
    parts[p]!.last = Math.max(parts[p]!.last, record.position);
    remember(record, hash);
    pending.push(record);
    summary.events++;
    summary.position = position;
  }

  /** A record for a position already accepted: the same one again, or a second history. */
  function duplicate(item: Extract<DecodedRecord, { kind: "event" }>): void {
    const known = knownHash(item.record.position);
    const hash = decodeHash(item.record.hash)!;
    const where = { partition: item.partition, offset: item.offset, position: item.record.position };
    if (known !== undefined && !equalBytes(known, hash)) {
      halt({ kind: "fork", ...where, reason: `two different signed events claim position ${item.record.position}`, evidence: [accepted.get(item.record.position) ?? { position: item.record.position, hash: toBase64(known) }, item.record] });
    }
    if (backfilledPositions.delete(item.record.position)) {
      summary.reorders++;
      incident({ kind: "reorder", ...where, reason: `position ${item.record.position} arrived after later ones (it was filled from the API meanwhile)` });
      return;
    }
    summary.duplicates++;
    incident({ kind: "duplicate", ...where, reason: known === undefined ? `position ${item.record.position} again (older than the duplicate window: not compared)` : `position ${item.record.position} again, identical: dropped` });
  }

  function checkControl(item: Extract<DecodedRecord, { kind: "control" }>): void {
    const { value } = item;
    const where = { partition: item.partition, offset: item.offset, position: value.checkpoint.treeSize };
    if (value.lastPosition !== parts[item.partition]!.last) {
      halt({ kind: value.lastPosition > parts[item.partition]!.last ? "gap" : "tamper", ...where, reason: `control record says partition ${item.partition} ends at ${value.lastPosition} at size ${value.checkpoint.treeSize}; the consumer took ${parts[item.partition]!.last}`, evidence: [value] });
    }
    const root = toBase64(tree.root());
    if (value.checkpoint.rootHash !== root) halt({ kind: "tamper", ...where, reason: `signed checkpoint root at size ${value.checkpoint.treeSize} differs from the root of the events received`, evidence: [value] });
    if (position > 0 && item.checkpoint.chainHead !== toBase64(prevHash)) halt({ kind: "tamper", ...where, reason: `signed checkpoint chain head at size ${value.checkpoint.treeSize} is not the hash of the event received there`, evidence: [value] });
    summary.checkpoints++;
    const witnessed = quorum === 0 || (trust.witnesses ?? []).filter((w) => verifyCosignature(value.checkpoint.note, w, sigOptions).ok).length >= quorum;
    if (witnessed) summary.witnessedCheckpoints++;
    if (pendingCheckpoint === undefined || value.checkpoint.treeSize >= pendingCheckpoint.treeSize) pendingCheckpoint = { treeSize: value.checkpoint.treeSize, witnessed };
  }

  const decodeContext = () => ({ keys: keysNow(), origin: trust.origin, partitions: partitionCount, ...sigOptions, ...(deps.verifySignatures ? { deferSignature: true } : {}) });

  /** With verifySignatures: the signatures of a fetched batch's events, checked together; a failing one becomes tamper. */
  async function checkSignatures(items: DecodedRecord[]): Promise<void> {
    const check = deps.verifySignatures;
    if (check === undefined) return;
    const events: Array<{ index: number; check: SignatureCheck }> = [];
    items.forEach((item, index) => {
      if (item.kind !== "event") return;
      const key = keysNow().find((k) => k.keyId === item.record.keyId)!;
      const signature = fromBase64(item.record.signature);
      const hash = decodeHash(item.record.hash)!;
      if (signature === undefined || !isCanonicalSignature(signature)) {
        items[index] = { kind: "tamper", offset: item.offset, partition: item.partition, position: item.record.position, reason: "event signature does not verify", record: item.record };
        return;
      }
      events.push({ index, check: { publicKey: key.publicKey, message: hash, signature } });
    });
    let rest = events;
    while (rest.length > 0) {
      const failed = await check(rest.map((e) => e.check));
      if (failed < 0) return;
      const bad = rest[failed]!;
      const item = items[bad.index] as Extract<DecodedRecord, { kind: "event" }>;
      items[bad.index] = { kind: "tamper", offset: item.offset, partition: item.partition, position: item.record.position, reason: "event signature does not verify", record: item.record };
      rest = rest.slice(failed + 1);
    }
  }

  async function fill(partitionIndexes: number[]): Promise<void> {
    // Wait for new records only when nothing at all is buffered: a partition at its end
    // must not slow down reading the others.
    const maxWaitMs = parts.every((p) => p.buffer.length === 0) ? fetchWaitMs : 0;
    await Promise.all(
      partitionIndexes.map(async (p) => {
        const part = parts[p]!;
        const records = await kafka.fetch(topic, p, part.fetchOffset, { maxWaitMs, maxBytes: 1024 * 1024 });
        part.drained = records.length === 0;
        const context = decodeContext();
        const decoded = records.map((r) => decodeRecord(r, context));
        await checkSignatures(decoded);
        part.buffer.push(...decoded);
        if (records.length > 0) part.fetchOffset = records[records.length - 1]!.offset + 1;
      }),
    );
  }

  /** Takes whatever can be taken now; answers what it needs: nothing more to do, or partitions to fetch. */
  function step(): { progress: boolean; gapAt?: number; gapTo?: number; proven?: boolean } {
    let progress = false;
    for (;;) {
      let moved = false;
      // First what is due at this position: control records of this size (checked now,
      // before the next event moves the tree on), duplicates, tamper.
      for (let p = 0; p < partitionCount; p++) {
        const part = parts[p]!;
        for (;;) {
          const head = part.buffer[0];
          if (head === undefined) break;
          if (head.kind === "tamper") halt({ kind: "tamper", partition: head.partition, offset: head.offset, position: head.position, reason: head.reason, ...(head.record === undefined ? {} : { evidence: [head.record] }) });
          if (head.kind === "control") {
            const size = head.value.checkpoint.treeSize;
            if (size > position) break; // waits until the events it covers are taken
            part.buffer.shift();
            progress = true;
            // An older one (a resumed cursor, or a relay restart) cannot be compared any more.
            if (size === position) checkControl(head);
            continue;
          }
          if (head.record.position <= position) {
            part.buffer.shift();
            progress = true;
            duplicate(head);
            continue;
          }
          break;
        }
      }
      // Then the one next event, from whichever partition holds it at its head.
      for (let p = 0; p < partitionCount && !moved; p++) {
        const part = parts[p]!;
        const head = part.buffer[0];
        if (head?.kind !== "event" || head.record.position !== position + 1) continue;
        part.buffer.shift();
        if (head.partitionPrev !== part.last) {
          halt({ kind: "tamper", partition: p, offset: head.offset, position: head.record.position, reason: `header says the previous event of partition ${p} is ${head.partitionPrev}, but it is ${part.last}`, evidence: [head.record] });
        }
        accept(head.record, { partition: p, offset: head.offset });
        moved = true;
      }
      if (!moved) {
        // Not at any head: further back in a partition (reordered)?
        for (let p = 0; p < partitionCount && !moved; p++) {
          const part = parts[p]!;
          const at = part.buffer.findIndex((r) => r.kind === "event" && r.record.position === position + 1);
          if (at > 0) {
            const item = part.buffer.splice(at, 1)[0] as Extract<DecodedRecord, { kind: "event" }>;
            summary.reorders++;
            incident({ kind: "reorder", partition: p, offset: item.offset, position: item.record.position, reason: `position ${item.record.position} found behind ${at} later record(s) of partition ${p}: taken in order` });
            accept(item.record, { partition: p, offset: item.offset });
            moved = true;
          }
        }
      }
      if (!moved) break;
      progress = true;
      missingSince = undefined;
      if (pending.length >= maxBatch) return { progress };
    }
    // Is position + 1 provably missing? A head whose partition header names an event
    // this consumer never got, or every partition holding only later records.
    let lowest = Infinity;
    let proven = false;
    let allHaveHeads = true;
    for (let p = 0; p < partitionCount; p++) {
      const head = parts[p]!.buffer[0];
      if (head === undefined) {
        allHaveHeads = false;
        continue;
      }
      if (head.kind === "event") {
        lowest = Math.min(lowest, head.record.position - 1);
        if (head.partitionPrev > parts[p]!.last) {
          proven = true;
          lowest = Math.min(lowest, head.partitionPrev);
        }
      } else if (head.kind === "control") {
        lowest = Math.min(lowest, head.value.checkpoint.treeSize);
        if (head.value.lastPosition > parts[p]!.last) proven = true;
      }
    }
    if (lowest === Infinity || lowest <= position) return { progress };
    return { progress, gapAt: position + 1, gapTo: lowest, proven: proven || allHaveHeads };
  }

  async function fillGap(from: number, to: number): Promise<void> {
    const where = { partition: undefined, offset: undefined, position: from };
    if (deps.backfill === undefined) halt({ kind: "gap", ...where, reason: `positions ${from}..${to} are missing from topic ${topic} and no backfill source is configured` });
    const events = await deps.backfill.range(from, to);
    if (events.length === 0 || events[0]!.position !== from) halt({ kind: "gap", ...where, reason: `positions ${from}..${to} are missing from topic ${topic} and the API did not serve them` });
    summary.gaps++;
    incident({ kind: "gap", ...where, reason: `positions ${from}..${events[events.length - 1]!.position} missing from the topic: filled from the API and verified` });
    for (const event of events) {
      const checked = verifyEvent(event, keysNow(), sigOptions);
      if (!checked.ok) halt({ kind: "tamper", partition: undefined, offset: undefined, position: event.position, reason: `backfilled event: ${checked.reason}`, evidence: [event] });
      if (event.position !== position + 1) halt({ kind: "gap", ...where, reason: `the API skipped position ${position + 1}` });
      accept(event, { partition: undefined, offset: undefined });
      backfilledPositions.add(event.position);
      summary.backfilled++;
    }
    if (backfilledPositions.size > window) backfilledPositions.clear();
  }

  async function flush(apply: RunOptions["apply"], onProgress?: RunOptions["onProgress"]): Promise<void> {
    if (pending.length === 0 && pendingCheckpoint === undefined) return;
    const batch: VerifiedBatch = { events: pending, cursor: cursorNow(), ...(pendingCheckpoint ? { checkpoint: pendingCheckpoint } : {}) };
    pending = [];
    pendingCheckpoint = undefined;
    await apply(batch);
    onProgress?.({ ...summary });
  }

  return {
    get summary(): ConsumerSummary {
      return { ...summary };
    },
    /** Runs until `signal` aborts, an integrity failure halts it, or (stopWhenCaughtUp) the end of every partition. */
    async run(run: RunOptions): Promise<ConsumerSummary> {
      await init();
      while (run.signal?.aborted !== true) {
        const empty = parts.map((p, i) => (p.buffer.length === 0 ? i : -1)).filter((i) => i >= 0);
        if (empty.length > 0) {
          await flush(run.apply, run.onProgress);
          await fill(empty);
        }
        const result = step();
        if (pending.length >= maxBatch) await flush(run.apply, run.onProgress);
        if (result.progress) continue;
        const caughtUp = parts.every((p) => p.buffer.length === 0 && p.drained);
        if (caughtUp) {
          await flush(run.apply, run.onProgress);
          missingSince = undefined;
          if (run.stopWhenCaughtUp) break;
          continue;
        }
        if (result.gapAt !== undefined) {
          const drainedElsewhere = parts.every((p) => p.buffer.length > 0 || p.drained);
          missingSince ??= Date.now();
          if (result.proven || (drainedElsewhere && (run.stopWhenCaughtUp || Date.now() - missingSince >= gapGraceMs))) {
            await flush(run.apply, run.onProgress);
            await fillGap(result.gapAt, result.gapTo!);
            missingSince = undefined;
            continue;
          }
          // Nothing new in the partitions that could hold it yet: look again shortly.
          if (parts.every((p) => p.buffer.length > 0)) await new Promise((r) => setTimeout(r, Math.min(fetchWaitMs, 100)));
          for (const p of parts) if (p.buffer.length === 0) p.drained = false;
        }
      }
      await flush(run.apply, run.onProgress);
      return { ...summary };
    },
  };
}

export type VerifyingConsumer = ReturnType<typeof createVerifyingConsumer>;

/** Parses a stored cursor (JSON) back, checking its shape. */
export function parseConsumerCursor(text: string): ConsumerCursor {
  const value = JSON.parse(text) as ConsumerCursor;
  const ok = value?.version === 1 && typeof value.topic === "string" && Number.isSafeInteger(value.partitions) && Array.isArray(value.offsets) && Array.isArray(value.lastPositions) && Array.isArray(value.frontier) && Number.isSafeInteger(value.position) && fromBase64(value.hash)?.length === 32;
  if (!ok) throw new LedgerError("ERR_INVALID_INPUT", "not an Annal Kafka consumer cursor");
  return value;
}
