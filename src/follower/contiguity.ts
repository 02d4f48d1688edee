/** Where a follower stands: the last position whose effect is done, and that event's hash (base64). */
export interface FollowerCursor {
  readonly position: number;
  /** Hash of the event at `position`; 32 zero bytes at position 0 (the genesis prevHash). */
  readonly hash: string;
}

/** The parts of a record a follower checks before handing it on. */
export interface LinkedEvent {
  readonly position: number;
  readonly prevHash: string;
  readonly hash: string;
}

export type ContiguityVerdict =
  | { ok: true }
  | { ok: false; code: "ERR_LOG_GAP" | "ERR_CHAIN_BROKEN"; position: number; reason: string };

/**
 * Asserts that `events` continue the log exactly where `cursor` stands: the first is
 * position + 1, there are no holes, and each event's prevHash is the hash of the event
 * before it. Positions are assigned under the chain-head lock and committed in order, so
 * any hole or broken link is damage (a deleted row, a restored backup), never a race:
 * the follower stops at the position named here and never skips it.
 */
export function checkContiguity(cursor: FollowerCursor, events: readonly LinkedEvent[]): ContiguityVerdict {
  let position = cursor.position;
  let hash = cursor.hash;
  for (const event of events) {
    const expected = position + 1;
    if (event.position !== expected) {
      return { ok: false, code: "ERR_LOG_GAP", position: expected, reason: `position ${expected} is missing from the log (the next stored event is ${event.position})` };
    }
    if (event.prevHash !== hash) {
      return { ok: false, code: "ERR_CHAIN_BROKEN", position: event.position, reason: `the event at position ${event.position} does not link to the event at ${position} (prevHash differs)` };
    }
    position = event.position;
    hash = event.hash;
  }
  return { ok: true };
}

/** The cursor after `events`, which MUST have passed checkContiguity from `cursor`. */
export function advanceCursor(cursor: FollowerCursor, events: readonly LinkedEvent[]): FollowerCursor {
  const last = events[events.length - 1];
  return last === undefined ? cursor : { position: last.position, hash: last.hash };
}

export const GENESIS_CURSOR: FollowerCursor = { position: 0, hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" };
