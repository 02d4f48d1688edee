import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryArray } from "../../src/store/postgres/binary-array.js";
import { createTestDatabase } from "../support/services.js";

// The binary array parameters of the append batch (binary-array.ts), read back by the real
// PostgreSQL: every element arrives as the value the text form would have given.
describe("binary array parameters", () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end().catch(() => undefined);
    await db?.drop();
  });

  it("sends int8, int2, text, bytea, uuid and bool arrays that PostgreSQL reads as the same values", async () => {
    const texts = ["plain", "", "quote \" backslash \\ comma , brace {}", "ünïcødé ✓ 😀", "NULL"];
    const bytes = [new Uint8Array([0, 1, 2, 255]), new Uint8Array(0), new Uint8Array(64).fill(0x5c)];
    const ints = [1, 0, -1, 2 ** 53 - 1, -(2 ** 53 - 1)];
    const uuids = ["0190a5b2-3c4d-7e8f-9a0b-1c2d3e4f5a6b", "00000000-0000-0000-0000-000000000000"];
    const { rows } = await client.query<{ i8: string[]; i2: number[]; t: string[]; b: Buffer[]; u: string[]; f: boolean[]; same_i8: boolean; same_t: boolean; same_b: boolean; empty: number }>(
      `SELECT $1::bigint[] AS i8, $2::smallint[] AS i2, $3::text[] AS t, $4::bytea[] AS b, $5::uuid[] AS u, $6::bool[] AS f,
              $1::bigint[] = $7::bigint[] AS same_i8, $3::text[] = $8::text[] AS same_t, $4::bytea[] = $9::bytea[] AS same_b,
              cardinality($10::text[]) AS empty`,
      [
        binaryArray("int8", ints),
        binaryArray("int2", [4, 8, -12]),
        binaryArray("text", texts),
        binaryArray("bytea", bytes),
        binaryArray("uuid", uuids),
        binaryArray("bool", [true, false]),
        ints,
        texts,
        bytes.map((b) => Buffer.from(b)),
        binaryArray("text", []),
      ],
    );
    const row = rows[0]!;
    expect(row.i8.map(Number)).toEqual(ints);
    expect(row.i2).toEqual([4, 8, -12]);
    expect(row.t).toEqual(texts);
    expect(row.b.map((b) => [...b])).toEqual(bytes.map((b) => [...b]));
    expect(row.u).toEqual(uuids);
    expect(row.f).toEqual([true, false]);
    expect([row.same_i8, row.same_t, row.same_b]).toEqual([true, true, true]);
    expect(row.empty).toBe(0);
  });

  it("is refused by PostgreSQL when cast to another element type, and refuses a malformed UUID itself", async () => {
    await expect(client.query("SELECT $1::text[]", [binaryArray("int8", [1])])).rejects.toThrow(/element type 20 \(bigint\) instead of expected 25 \(text\)/);
    expect(() => binaryArray("uuid", ["not-a-uuid"])).toThrow(RangeError);
    expect(() => binaryArray("uuid", ["0190a5b2-3c4d-7e8f-9a0b-1c2d3e4f5a6z"])).toThrow(RangeError);
  });
});
