import { resolveCacheLayout } from "./cache.js";
import { createServiceManager } from "./manager.js";
import { isRunning } from "./processes.js";
import { SERVICE_NAMES, type ServiceName } from "./state.js";

const USAGE = `usage: npm run services -- <command> [service...]

  up [postgres|kafka|minio|vault|all]   start (default all); reuses running ones
  down [postgres|kafka|minio|vault|all] stop (default all) and check no pid is left
  status                          one line per service; exit 1 unless all run
  env                             shell exports for the running services:
                                  eval "$(npm run -s services -- env)"

cache: $ANNAL_CACHE, else $XDG_CACHE_HOME/annal, else ~/.cache/annal`;

function parseNames(args: string[]): ServiceName[] {
  if (args.length === 0 || args.includes("all")) return [...SERVICE_NAMES];
  for (const arg of args) {
    if (!(SERVICE_NAMES as readonly string[]).includes(arg)) throw new Error(`unknown service "${arg}"; expected ${SERVICE_NAMES.join(", ")} or all`);
  }
  return args as ServiceName[];
}

const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const manager = createServiceManager({ layout: resolveCacheLayout() });
  switch (command) {
    case "up": {
      const begin = Date.now();
      await manager.up(parseNames(rest), (message) => console.error(message));
      console.error(`up in ${((Date.now() - begin) / 1000).toFixed(1)}s; state ${manager.layout.stateFile}, logs ${manager.layout.logs}`);
      return 0;
    }
    case "down": {
      const stopped = await manager.down(parseNames(rest));
      const survivors = stopped.filter((proc) => isRunning(proc));
      for (const proc of stopped) console.error(`stopped pid ${proc.pid}${isRunning(proc) ? " (STILL RUNNING)" : ""}`);
      if (stopped.length === 0) console.error("nothing was running");
      return survivors.length === 0 ? 0 : 1;
    }
    case "status": {
      const statuses = await manager.status();
      for (const s of statuses) console.log(`${s.name.padEnd(9)}${s.state.padEnd(10)}${s.pid ? `pid ${s.pid}  ` : ""}${s.detail}`);
      return statuses.every((s) => s.state === "running") ? 0 : 1;
    }
    case "env": {
      // Secrets go to stdout only here, on request; never into logs.
      for (const [key, value] of Object.entries(manager.env())) console.log(`export ${key}=${shellQuote(value)}`);
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
