// CPU accounting for the HTTP benchmarks (bench/webhook.ts, bench/api.ts), from /proc: the
// processes must run on this machine.

/** Fields of /proc/<pid>/stat from field 3 on (index 0 = field 3), or undefined if it is gone. */
export function procStat(pid: number | "self"): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** utime + stime (fields 14, 15), plus cutime + cstime (16, 17) of reaped children if asked. */
export function cpuTicks(pid: number | "self", withReaped: boolean): number {
  const f = procStat(pid);
  if (!f) return 0;
  return Number(f[11]) + Number(f[12]) + (withReaped ? Number(f[13]) + Number(f[14]) : 0);
}

/** The database server's CPU so far: the postmaster with its reaped children, and the live ones. */
export function serverTicks(postmaster: number): number {
  let sum = cpuTicks(postmaster, true);
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(e.name)) continue;
    const f = procStat(Number(e.name));
    if (f && Number(f[1]) === postmaster) sum += cpuTicks(Number(e.name), false);
  }
  return sum;
}

/** The CPU so far of the live processes in process group `pgid` (field 5), only those named `comm` if given. */
export function groupTicks(pgid: number, comm?: string): number {
  let sum = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(e.name)) continue;
    const f = procStat(Number(e.name));
    if (!f || Number(f[2]) !== pgid) continue;
    if (comm !== undefined && Deno.readTextFileSync(`/proc/${e.name}/comm`).trim() !== comm) continue;
    sum += cpuTicks(Number(e.name), false);
  }
  return sum;
}

/** The postmaster of the server a connection's backend runs in (the backend's parent). */
export function postmasterOf(backendPid: number): number {
  const postmaster = Number(procStat(backendPid)?.[1] ?? 0);
  if (!postmaster) {
    throw new Error("the database does not run on this machine (no /proc entry for its backend)");
  }
  return postmaster;
}

/** Nearest-rank percentile of sorted values. */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
