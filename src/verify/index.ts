// `annal/verify`: everything an auditor needs to check Annal's evidence without trusting
// the server. Pure (no Node-only modules), so it runs in browsers, Node and Bun.
export { createChainVerifier, type ChainVerifier, type ChainVerifierOptions, type CheckpointKey, type Verdict } from "../core/verify-chain.js";
export { isCanonicalSignature, passesEd25519Prechecks, verifyEd25519, type SignatureVerifier } from "../core/ed25519.js";
export { leafHash } from "../core/merkle.js";
export { formatVerifierKey, parseVerifierKey } from "../core/signed-note.js";
export type { Checkpoint } from "../core/checkpoint.js";
export type { EventRecord } from "../core/event-record.js";
export { verifyCheckpointNote, type CheckpointCheckOptions, type CheckpointResult } from "./checkpoint.js";
export {
  cosign,
  cosignatureKeyHash,
  cosignedMessage,
  COSIGNATURE_ALGORITHM,
  formatCosignerVerifierKey,
  parseCosignerVerifierKey,
  verifyCosignature,
  type CosignatureResult,
  type CosignerKey,
} from "./cosignature.js";
export { checkEventShape, verifyEvent, type EventCheckOptions } from "./event.js";
export { parseTrustedKey, resolveTrustedKey, windowContains, type PositionWindow, type TrustedKey, type TrustedKeyInput } from "./keys.js";
export {
  checkEventKey,
  createKeyFollower,
  ERR_KEY_NOT_TRUSTED,
  ERR_KEY_OUTSIDE_WINDOW,
  ERR_KEY_ROTATION_INVALID,
  isKeyRotation,
  keyInForce,
  verifyKeyRotation,
  type KeyFollower,
  type KeyRefusal,
  type KeyWindow,
  type RotationCheckOptions,
} from "./key-windows.js";
export { KEY_ROTATED_TYPE, KEY_ROTATION_STATEMENT_VERSION, KEYS_STREAM, keyRotationStatementBytes, type KeyRotatedData, type KeyRotationStatement } from "../core/key-rotation.js";
export { decodeProof, verifyConsistency, verifyInclusion, type WireHashes } from "./proofs.js";
export { createRangeVerifier, frontierFromInclusionProof, type RangeStart, type RangeVerifier } from "./range.js";
export { RECEIPT_FORMAT, verifyReceipt, type EventReceipt, type ReceiptCheckOptions } from "./receipt.js";
export type { VerifyResult } from "./result.js";
export { verifyBundle, type BundleCheckOptions, type BundleVerdict } from "./segment-bundle.js";
export {
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  decodeBundle,
  manifestKeyName,
  parseManifestText,
  parseSegmentObjectName,
  segmentObjectName,
  type BundleKeys,
  type SegmentManifest,
} from "./segment-format.js";
