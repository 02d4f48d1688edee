import { parseStrictJson, type Checkpoint, type EventRecord, type SignatureVerifier } from "../../core/index.js";
import { verifyCheckpointNote } from "../../verify/checkpoint.js";
import { verifyEvent } from "../../verify/event.js";
import type { TrustedKey } from "../../verify/keys.js";
import type { KafkaRecord } from "../kafka-port.js";
import { ceIdOf, CONTROL_KEY, CONTROL_TYPE, HEADER, partitionFor, sequenceOf, type ControlValue } from "../record-format.js";

export type DecodedRecord =
  | { kind: "event"; offset: number; partition: number; record: EventRecord; partitionPrev: number }
  | { kind: "control"; offset: number; partition: number; value: ControlValue; checkpoint: Checkpoint }
  /** Signed correctly but the record contradicts itself or the topic (headers, key, partition): tamper. */
  | { kind: "tamper"; offset: number; partition: number; position: number | undefined; reason: string; record?: unknown };

export interface DecodeContext {
  keys: readonly TrustedKey[];
  origin: string;
  partitions: number;
  verifySignature?: SignatureVerifier;
  /** The caller checks event signatures itself (in a batch, on worker threads); everything else is checked here. */
  deferSignature?: boolean;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks one Kafka record on its own: an event's value parses as the signed record, its
 * hashes and signature verify with a trusted key, and every header, the key and the
 * partition agree with it; a control record's checkpoint is signed by a trusted key.
 * Nothing in the headers is trusted: they must repeat what the signed value says.
 */
export function decodeRecord(r: KafkaRecord, context: DecodeContext): DecodedRecord {
  const base = { offset: r.offset, partition: r.partition };
  const tamper = (reason: string, position?: number, record?: unknown): DecodedRecord => ({ kind: "tamper", ...base, position, reason, ...(record === undefined ? {} : { record }) });
  const header = (name: string): string | undefined => {
    const v = r.headers[name];
    if (v === undefined) return undefined;
    try {
      return decoder.decode(v);
    } catch {
      return "\uFFFD";
    }
  };
  let text: string;
  let value: unknown;
  try {
    text = r.value === null ? "" : decoder.decode(r.value);
    value = parseStrictJson(text);
  } catch {
    return tamper("the value is not UTF-8 JSON");
  }
  const kind = header(HEADER.record);
  if (kind === "checkpoint") {
    const control = value as Partial<ControlValue> | null;
    if (header(HEADER.type) !== CONTROL_TYPE || keyText(r) !== CONTROL_KEY || header(HEADER.source) !== context.origin) return tamper("control record headers or key disagree with a checkpoint record");
    if (control === null || typeof control !== "object" || control.kind !== "checkpoint" || typeof control.checkpoint?.note !== "string") return tamper("control record value is malformed");
    if (control.partition !== r.partition || control.partitions !== context.partitions) return tamper(`control record names partition ${String(control.partition)} of ${String(control.partitions)}, found in ${r.partition} of ${context.partitions}`);
    if (!Number.isSafeInteger(control.lastPosition) || control.lastPosition! < 0) return tamper("control record lastPosition is malformed");
    const checked = verifyCheckpointNote(control.checkpoint.note, context.keys, { origin: context.origin, ...(context.verifySignature ? { verifySignature: context.verifySignature } : {}) });
    if (!checked.ok) return tamper(`control record checkpoint: ${checked.reason}`);
    if (checked.checkpoint.treeSize !== control.checkpoint.treeSize || checked.checkpoint.rootHash !== control.checkpoint.rootHash) return tamper("control record treeSize or rootHash differ from its signed note");
    if (header(HEADER.sequence) !== sequenceOf(checked.checkpoint.treeSize)) return tamper("control record ce_sequence differs from the checkpoint size");
    return { kind: "control", ...base, value: control as ControlValue, checkpoint: checked.checkpoint };
  }
  if (kind !== "event") return tamper(`unknown ${HEADER.record} header ${JSON.stringify(kind)}`);
  const record = value as EventRecord;
  const position = typeof record?.position === "number" ? record.position : undefined;
  const verified = verifyEvent(record, context.keys, { ...(context.verifySignature ? { verifySignature: context.verifySignature } : {}), ...(context.deferSignature ? { skipSignature: true } : {}) });
  if (!verified.ok) return tamper(verified.reason, position, value);
  if (context.deferSignature && !context.keys.some((k) => k.keyId === record.keyId)) return tamper(`event is signed by key ${record.keyId}, which is not trusted`, position, value);
  const expected: Array<[string, string]> = [
    [HEADER.id, ceIdOf(context.origin, record.position)],
    [HEADER.source, context.origin],
    [HEADER.type, record.type],
    [HEADER.subject, record.streamId],
    [HEADER.time, record.recordedAt],
    [HEADER.sequence, sequenceOf(record.position)],
    [HEADER.hash, record.hash],
  ];
  for (const [name, want] of expected) {
    const got = header(name);
    if (got !== want) return tamper(`header ${name} is ${JSON.stringify(got)} but the signed record says ${JSON.stringify(want)}`, position, value);
  }
  if (keyText(r) !== record.streamId) return tamper(`the record key is not the stream id ${record.streamId}`, position, value);
  const home = partitionFor(record.streamId, context.partitions);
  if (home !== r.partition) return tamper(`stream ${record.streamId} belongs in partition ${home}, found in ${r.partition}`, position, value);
  const prevText = header(HEADER.partitionPrev);
  const partitionPrev = prevText !== undefined && /^(0|[1-9][0-9]{0,15})$/.test(prevText) ? Number(prevText) : NaN;
  if (!Number.isSafeInteger(partitionPrev) || partitionPrev >= record.position) return tamper(`header ${HEADER.partitionPrev} ${JSON.stringify(prevText)} is not a position before ${record.position}`, position, value);
  return { kind: "event", ...base, record, partitionPrev };
}

function keyText(r: KafkaRecord): string | undefined {
  if (r.key === null) return undefined;
  try {
    return decoder.decode(r.key);
  } catch {
    return undefined;
  }
}
