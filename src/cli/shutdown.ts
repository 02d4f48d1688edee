import type { Logger } from "pino";

/**
 * Stops a long-running command once, on SIGINT or SIGTERM or when the returned function
 * is called: logs `message`, runs `close`, then exits with the code already set
 * (`process.exitCode`, e.g. 1 after a failure) or 1 if closing failed.
 */
export function stopOnSignals(logger: Logger, message: string, close: () => Promise<void>): (reason: string) => void {
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal: reason }, message);
    close().then(
      () => process.exit(typeof process.exitCode === "number" ? process.exitCode : 0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  return stop;
}
