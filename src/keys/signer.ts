/**
 * The ledger's signing key. Implementations keep the private key to themselves (a file,
 * an HSM, a KMS); the ledger only asks for signatures.
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
  /** Ed25519 signature (64 bytes) of `message`. */
  sign(message: Uint8Array): Uint8Array;
  /** Signatures of many messages, in order; may run off the main thread. */
  signMany(messages: Uint8Array[]): Promise<Uint8Array[]>;
  /** Releases worker threads, if any. */
  close(): Promise<void>;
}
