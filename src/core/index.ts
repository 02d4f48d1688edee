// The pure core: no I/O, no clock, no randomness. Runs in Node, Bun and browsers.
export { concatBytes, equalBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from "./bytes.js";
export { assertIJson, canonicalJson, canonicalJsonUnchecked, type JsonValue } from "./canonical-json.js";
export { CHAIN_HEAD_EXTENSION, formatCheckpointBody, parseCheckpointBody, type Checkpoint } from "./checkpoint.js";
export { isCanonicalSignature, passesEd25519Prechecks, strictVerifier, verifyEd25519, type SignatureVerifier } from "./ed25519.js";
export { isLedgerError, LedgerError, type LedgerErrorCode } from "./errors.js";
export {
  computeDataHash,
  computeEventHash,
  dataHashInput,
  decodeHash,
  eventHashInput,
  EVENT_FORMAT_VERSION,
  eventHeaderJson,
  headerOf,
  keyIdOf,
  type EventHeader,
  type EventRecord,
  type StoredCanonical,
  type JsonObject,
} from "./event-record.js";
export { DOMAIN_DATA, DOMAIN_EVENT, HASH_LENGTH, sha256, ZERO_HASH, type Sha256 } from "./hash.js";
export { appendSubtree, createMerkleAccumulator, EMPTY_ROOT, leafHash, merkleHashers, merkleRootOf, nodeHash, type MerkleAccumulator, type MerkleFrontier } from "./merkle.js";
export {
  findNoteSignature,
  formatNote,
  formatSignatureLine,
  formatVerifierKey,
  isValidKeyName,
  noteKeyHash,
  parseNote,
  parseVerifierKey,
  type NoteSignature,
  type ParsedNote,
} from "./signed-note.js";
export {
  KEY_ROTATED_TYPE,
  KEY_ROTATION_STATEMENT_VERSION,
  KEYS_STREAM,
  keyRotationStatementBytes,
  parseKeyRotatedData,
  type KeyRotatedData,
  type KeyRotationStatement,
} from "./key-rotation.js";
export { parseStrictJson, type StrictJsonOptions } from "./strict-json.js";
export { checkCheckpointNote, createChainVerifier, type ChainVerifier, type ChainVerifierOptions, type CheckpointKey, type CheckpointState, type Verdict } from "./verify-chain.js";
export { EVENT_ID_PATTERN, EVENT_TYPE_PATTERN, isValidEventId, isValidEventType, isValidStreamId, STREAM_ID_PATTERN } from "./names.js";
export {
  consistencyProofOf,
  createSubtreeHashReader,
  generateConsistencyProof,
  generateRoot,
  generateInclusionProof,
  inclusionProofOf,
  verifyConsistencyProof,
  verifyInclusionProof,
  type NodeHasher,
  type ProofVerdict,
  type SubtreeHashReader,
} from "./merkle-proof.js";
export { createLtHash, LTHASH_BYTES, LTHASH_LANES, type LtHash, type LtHashExpand } from "./lthash.js";
