// CPU time of processes, read from /proc (Linux): utime + stime of a process (all its
// threads), and of a PostgreSQL server (the postmaster, every live backend and helper,
// and what finished backends left in the postmaster's cutime + cstime). Differences of
// two readings over a run, divided by the events appended, give CPU per append.
import { readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import pg from "pg";

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  return ticksPerSecond;
}

interface Stat {
  ppid: number;
  /** utime + stime, in ticks. */
  own: number;
  /** cutime + cstime of waited-for children, in ticks. */
  children: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // exited meanwhile
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime fields 14-17.
  return { ppid: Number(fields[1]), own: Number(fields[11]) + Number(fields[12]), children: Number(fields[13]) + Number(fields[14]) };
}

/** CPU seconds a process has used so far (every thread). */
export function processCpuSeconds(pid: number): number {
  const stat = readStat(pid);
  return stat === undefined ? 0 : stat.own / clockTicks();
}

/** The parent of a process (the postmaster, given a backend's pid). */
export function parentPid(pid: number): number | undefined {
  return readStat(pid)?.ppid;
}

/** CPU seconds of a PostgreSQL server so far: the postmaster, its children, and its exited children. */
export function postgresCpuSeconds(postmasterPid: number): number {
  const postmaster = readStat(postmasterPid);
  if (postmaster === undefined) return 0;
  let ticks = postmaster.own + postmaster.children;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.ppid === postmasterPid) ticks += stat.own;
  }
  return ticks / clockTicks();
}

/**
 * The postmaster of the server behind `url` (the parent of this session's backend), for
 * PostgreSQL's CPU time; undefined when the server is not on this machine's /proc.
 */
export async function postmasterOf(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    return parentPid(rows[0]!.pid);
  } finally {
    await client.end();
  }
}
