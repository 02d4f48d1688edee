import type pg from "pg";

/**
 * One row of a binary COPY: field i is `buffer[starts[i], starts[i] + lengths[i])`, or
 * NULL when `lengths[i]` is -1. The arrays and the buffer are reused for the next row:
 * read what you need before returning.
 */
export interface BinaryRow {
  buffer: Buffer;
  starts: Int32Array;
  lengths: Int32Array;
}

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/**
 * Runs `COPY (query) TO STDOUT (FORMAT binary)` on `client` and hands every row to
 * `onRow` as it arrives, without building JavaScript values for its fields: a caller
 * that hashes stored bytes reads them where they lie. Resolves with the number of rows.
 *
 * Written here rather than taken from pg-copy-streams: that package gives a Node stream
 * of raw chunks, and the row parsing (the part that costs) would still be ours; a pg
 * Submittable is the same hook it uses, in a few lines, with no stream in between.
 */
export function copyBinaryRows(client: pg.Client, query: string, columns: number, onRow: (row: BinaryRow) => void): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const row: BinaryRow = { buffer: Buffer.alloc(0), starts: new Int32Array(columns), lengths: new Int32Array(columns) };
    let carry: Buffer | undefined;
    let headerRead = false;
    let rows = 0;
    let failure: Error | undefined;

    function feed(chunk: Buffer): void {
      const buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      carry = undefined;
      let at = 0;
      if (!headerRead) {
        if (buffer.length < 19) {
          carry = Buffer.from(buffer);
          return;
        }
        if (!buffer.subarray(0, 11).equals(SIGNATURE)) throw new Error("COPY did not answer in the binary format");
        at = 19 + buffer.readInt32BE(15);
        headerRead = true;
      }
      row.buffer = buffer;
      const end = buffer.length;
      while (at + 2 <= end) {
        const count = buffer.readInt16BE(at);
        if (count === -1) {
          at += 2; // the trailer
          continue;
        }
        if (count !== columns) throw new Error(`COPY row of ${count} fields, expected ${columns}`);
        let p = at + 2;
        let complete = true;
        for (let i = 0; i < columns; i++) {
          if (p + 4 > end) {
            complete = false;
            break;
          }
          const length = buffer.readInt32BE(p);
          p += 4;
          row.starts[i] = p;
          row.lengths[i] = length;
          if (length > 0) p += length;
          if (p > end) {
            complete = false;
            break;
          }
        }
        if (!complete) break;
        onRow(row);
        rows++;
        at = p;
      }
      // pg-protocol reuses its read buffer: a partial row must be copied, not kept as a view.
      if (at < end) carry = Buffer.from(buffer.subarray(at));
    }

    const submittable = {
      submit(connection: { query(text: string): void }) {
        connection.query(`COPY (${query}) TO STDOUT (FORMAT binary)`);
      },
      handleCopyData(message: { chunk: Buffer }) {
        if (failure) return;
        try {
          feed(message.chunk);
        } catch (error) {
          failure = error as Error;
        }
      },
      handleCommandComplete() {},
      handleReadyForQuery() {
        if (failure) reject(failure);
        else if (carry) reject(new Error("COPY ended inside a row"));
        else resolve(rows);
      },
      handleError(error: Error) {
        reject(error);
      },
    };
    void client.query(submittable as unknown as pg.QueryConfig);
  });
}
