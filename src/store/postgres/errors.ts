// How a failed PostgreSQL call is classified. The append path needs the distinction:
// after a connection failure or a timeout, a statement that was sent may still commit
// (the server never answered, or answered into a closed socket), so its outcome is
// unknown; an error the server returned (a constraint, a syntax error) means it did not.

const CONNECTION_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "57P01", "57P02", "57P03", "08000", "08001", "08003", "08004", "08006"]);

// pg and pg-pool report these without a code: a broken socket, our client-side
// statement bound (query_timeout) and the connect/acquire bound (connectionTimeoutMillis).
const CONNECTION_MESSAGES = /Connection terminated|connection timeout|Query read timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i;

/** The database could not be reached or did not answer in time (not a verdict on the request). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
  return CONNECTION_MESSAGES.test((error as Error | undefined)?.message ?? "");
}

