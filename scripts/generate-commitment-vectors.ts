// Writes test/vectors/projection-commitment.json: the byte-exact spec of a projection's
// row commitment (docs/verification.md §17). Inputs are row texts as PostgreSQL's jsonb
// output renders jsonb_build_array(table, to_jsonb(row)); the test recomputes every step.
import { writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createLtHash, toBase64 } from "../src/core/index.js";
import { commitmentLabel, createRowExpander } from "../src/projector/commitment.js";

const rows = [
  '["streams", {"version": 2, "stream_id": "orders-1", "event_count": 2, "last_position": 3, "first_position": 1, "last_recorded_at": "2026-01-01T00:00:03.000Z", "first_recorded_at": "2026-01-01T00:00:01.000Z"}]',
  '["streams", {"version": 1, "stream_id": "orders-2", "event_count": 1, "last_position": 2, "first_position": 2, "last_recorded_at": "2026-01-01T00:00:02.000Z", "first_recorded_at": "2026-01-01T00:00:02.000Z"}]',
  '["totals", {"amount": 12.50, "orders": 2, "currency": "EUR"}]',
];
const expand = await createRowExpander();
const steps = [];
const state = createLtHash(expand);
for (const row of rows) {
  const digest = createHash("sha256").update(row, "utf8").digest();
  const vector = expand(digest);
  state.add(digest);
  steps.push({ row, digest: digest.toString("hex"), expansionFirst16: Buffer.from(vector.subarray(0, 16)).toString("hex"), stateSha256: createHash("sha256").update(state.bytes()).digest("hex") });
}
// Removing a row is subtracting its vector: take the second row out again.
const removed = createLtHash(expand, state.bytes());
removed.add(createHash("sha256").update(rows[1]!, "utf8").digest(), -1);
const file = {
  description: "Projection commitment: LtHash16 (1024 little-endian uint16 lanes, added mod 2^16) of BLAKE3-XOF(SHA-256(row text), 2048 bytes); label = 'lthash16-blake3:' + base64(SHA-256(state)). See docs/verification.md §17.",
  empty: commitmentLabel(createLtHash(expand).bytes()),
  steps,
  all: { label: commitmentLabel(state.bytes()), stateBase64: toBase64(state.bytes()) },
  withoutSecondRow: commitmentLabel(removed.bytes()),
};
writeFileSync(new URL("../test/vectors/projection-commitment.json", import.meta.url), `${JSON.stringify(file, null, 2)}\n`);
console.log("wrote test/vectors/projection-commitment.json");
