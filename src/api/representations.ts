import { headerOf, type EventRecord } from "../core/index.js";
import type { CheckpointView, PublicKeyInfo, Receipt } from "../ledger/types.js";

// Responses are built member by member rather than passing port objects through: what
// the wire carries is a contract, and a field an adapter adds must not leak into it.

export function receiptJson(receipt: Receipt): Receipt {
  return {
    streamId: receipt.streamId,
    streamVersion: receipt.streamVersion,
    events: receipt.events.map((event) => ({
      position: event.position,
      streamVersion: event.streamVersion,
      eventId: event.eventId,
      hash: event.hash,
      keyId: event.keyId,
      signature: event.signature,
    })),
    checkpoint: checkpointJson(receipt.checkpoint),
  };
}

export function checkpointJson(checkpoint: CheckpointView): CheckpointView {
  return { treeSize: checkpoint.treeSize, rootHash: checkpoint.rootHash, note: checkpoint.note };
}

/** The full record: everything a verifier needs to recompute dataHash, hash and check the signature. */
export function eventJson(record: EventRecord): EventRecord {
  // Member by member (headerOf copies exactly the hashed ones), so nothing a store
  // attached to a record can leak into the API.
  const json: EventRecord = { ...headerOf(record), hash: record.hash, signature: record.signature };
  if (record.data !== undefined) json.data = record.data;
  if (record.dataSalt !== undefined) json.dataSalt = record.dataSalt;
  return json;
}

export function publicKeyJson(key: PublicKeyInfo): PublicKeyInfo {
  const json: PublicKeyInfo = {
    keyId: key.keyId,
    algorithm: key.algorithm,
    publicKey: key.publicKey,
    noteVerifierKey: key.noteVerifierKey,
    validFrom: key.validFrom,
  };
  if (key.validTo !== undefined) json.validTo = key.validTo;
  if (key.fromPosition !== undefined) json.fromPosition = key.fromPosition;
  if (key.toPosition !== undefined) json.toPosition = key.toPosition;
  return json;
}
