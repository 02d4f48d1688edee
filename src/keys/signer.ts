/**
 * The ledger's signing key. Implementations keep the private key to themselves (a file,
 * an HSM, a KMS); the ledger only asks for signatures. Verification never calls a
 * Signer: it uses `publicKey`, locally. Opened by `openSigner(uri)` (open-signer.ts).
 */
export interface Signer {
  /** keyIdOf(publicKey): first 8 bytes of SHA-256(raw public key), hex. */
  readonly keyId: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Key name in signed notes (C2SP): the log's origin. */
  readonly noteName: string;
  /** True for the generated development key, which production refuses. */
  readonly development: boolean;
  /**
   * Ed25519 signatures (64 bytes each) of `messages`, in order. The ledger calls it once
   * per batch (every event hash, then the checkpoint body). There is no synchronous form:
   * a key in an HSM or a KMS answers later.
   * Implementations MUST answer in the order given, and MUST reject (never answer a
   * partial list) when any message could not be signed; a network failure rejects with a
   * LedgerError whose `retriable` is true.
   * Implementations MUST NOT block the event loop for a device call (PKCS#11 runs on a
   * worker thread).
   */
  signMany(messages: Uint8Array[]): Promise<Uint8Array[]>;
  /** Releases worker threads, sessions and connections, if any. */
  close(): Promise<void>;
}
