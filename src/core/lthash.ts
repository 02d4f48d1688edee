/**
 * LtHash16: a homomorphic multiset hash (Bellare–Micciancio; Lewi et al., "Securing
 * Update Propagation with Homomorphic Hashing", 2019). The state is 1024 lanes of 16
 * bits; an element's vector is its 2048-byte expansion read as little-endian uint16
 * lanes; adding an element adds its vector lane-wise mod 2^16, removing subtracts it.
 * So the hash of a set of rows changes in O(changed rows), never by a rescan, and the
 * order of changes does not matter. Annal expands with BLAKE3's XOF (docs/verification.md).
 */
export const LTHASH_LANES = 1024;
export const LTHASH_BYTES = LTHASH_LANES * 2;

/** The expansion of one element (2048 bytes), supplied by the caller (the core does no hashing of its own here). */
export type LtHashExpand = (element: Uint8Array) => Uint8Array;

export interface LtHash {
  /** Adds `count` copies of the element (negative removes). */
  add(element: Uint8Array, count?: number): void;
  /** The state as 2048 bytes (little-endian lanes): what is stored and compared. */
  bytes(): Uint8Array;
  equals(other: LtHash): boolean;
}

export function createLtHash(expand: LtHashExpand, state?: Uint8Array): LtHash {
  const lanes = new Uint16Array(LTHASH_LANES);
  if (state !== undefined) {
    if (state.length !== LTHASH_BYTES) throw new RangeError(`an LtHash16 state is ${LTHASH_BYTES} bytes, got ${state.length}`);
    for (let i = 0; i < LTHASH_LANES; i++) lanes[i] = state[2 * i]! | (state[2 * i + 1]! << 8);
  }
  return {
    add(element, count = 1) {
      if (!Number.isSafeInteger(count)) throw new RangeError("count must be an integer");
      if (count === 0) return;
      const vector = expand(element);
      if (vector.length !== LTHASH_BYTES) throw new RangeError(`expansion must be ${LTHASH_BYTES} bytes`);
      // Lanes wrap mod 2^16 when stored in the Uint16Array, so a multiplied vector needs no explicit reduction.
      const k = count % 65536;
      for (let i = 0; i < LTHASH_LANES; i++) lanes[i] = lanes[i]! + k * (vector[2 * i]! | (vector[2 * i + 1]! << 8));
    },
    bytes() {
      const out = new Uint8Array(LTHASH_BYTES);
      for (let i = 0; i < LTHASH_LANES; i++) {
        out[2 * i] = lanes[i]! & 0xff;
        out[2 * i + 1] = lanes[i]! >> 8;
      }
      return out;
    },
    equals(other) {
      const a = this.bytes();
      const b = other.bytes();
      for (let i = 0; i < LTHASH_BYTES; i++) if (a[i] !== b[i]) return false;
      return true;
    },
  };
}
