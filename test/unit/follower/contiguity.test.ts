import { describe, expect, it } from "vitest";
import { advanceCursor, checkContiguity, GENESIS_CURSOR } from "../../../src/follower/index.js";

const h = (n: number) => Buffer.alloc(32, n).toString("base64");
const chain = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ position: from + i, prevHash: from + i === 1 ? GENESIS_CURSOR.hash : h(from + i - 1), hash: h(from + i) }));

describe("checkContiguity", () => {
  it("given the genesis cursor, when events 1..5 link, then they pass and the cursor moves to 5", () => {
    const events = chain(1, 5);
    expect(checkContiguity(GENESIS_CURSOR, events)).toEqual({ ok: true });
    expect(advanceCursor(GENESIS_CURSOR, events)).toEqual({ position: 5, hash: h(5) });
  });

  it("given a cursor at 3, when the batch starts at 5, then it names position 4 as missing", () => {
    expect(checkContiguity({ position: 3, hash: h(3) }, chain(5, 7))).toMatchObject({ ok: false, code: "ERR_LOG_GAP", position: 4 });
  });

  it("given a hole inside the batch, then the first missing position is named", () => {
    const events = chain(1, 9).filter((e) => e.position !== 6);
    expect(checkContiguity(GENESIS_CURSOR, events)).toMatchObject({ ok: false, code: "ERR_LOG_GAP", position: 6 });
  });

  it("given a duplicated or reordered event, then the batch fails at that place", () => {
    const events = chain(1, 4);
    expect(checkContiguity(GENESIS_CURSOR, [...events.slice(0, 3), events[2]!, events[3]!])).toMatchObject({ ok: false, code: "ERR_LOG_GAP", position: 4 });
    expect(checkContiguity(GENESIS_CURSOR, [events[0]!, events[2]!, events[1]!])).toMatchObject({ ok: false, position: 2 });
  });

  it("given a prevHash that is not the hash before it, then ERR_CHAIN_BROKEN names that event", () => {
    const events = chain(1, 6);
    events[3] = { ...events[3]!, prevHash: h(99) };
    expect(checkContiguity(GENESIS_CURSOR, events)).toMatchObject({ ok: false, code: "ERR_CHAIN_BROKEN", position: 4 });
    // The cursor's own hash is checked against the first event too (a restored backup).
    expect(checkContiguity({ position: 2, hash: h(42) }, chain(3, 4))).toMatchObject({ ok: false, code: "ERR_CHAIN_BROKEN", position: 3 });
  });
});
