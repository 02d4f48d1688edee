import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCommittedAfter } from "../../src/follower/index.js";
import { startTestAnnal, type TestAnnal } from "../support/annal.js";

let annal: TestAnnal;
beforeAll(async () => {
  annal = await startTestAnnal({ ANNAL_AUTH: "off" });
  await annal.ledger.append({ streamId: "r-1", events: [{ type: "A", data: { x: [1, "two", null] }, metadata: { who: "me" } }, { type: "B", data: null }] });
});
afterAll(() => annal?.close());

describe("the follower's reads", () => {
  it("give records equal to the reader's, byte for byte (base64 made by PostgreSQL)", async () => {
    const expected = await annal.reader.readRange(1, 2);
    expect(await readCommittedAfter(annal.pool, 0, 10)).toEqual(expected);
    const headers = await readCommittedAfter(annal.pool, 0, 10, { payloads: false });
    expect(headers).toEqual(expected.map(({ data: _data, dataSalt: _salt, ...header }) => header));
    expect(headers[0]!.signature).toHaveLength(88);
  });
});
