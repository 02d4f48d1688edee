import type pg from "pg";

/**
 * Runs `work` in a transaction on one pooled connection: COMMIT when it resolves,
 * ROLLBACK when it throws (the error is rethrown). A connection that cannot even roll
 * back is broken and is destroyed instead of going back to the pool.
 */
export async function inTransaction<T>(pool: Pick<pg.Pool, "connect">, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const tx = await pool.connect();
  let broken: Error | undefined;
  try {
    await tx.query("BEGIN");
    const result = await work(tx);
    await tx.query("COMMIT");
    return result;
  } catch (error) {
    await tx.query("ROLLBACK").catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    tx.release(broken);
  }
}
