// Throw-away PostgreSQL clusters for the model suite and the crash test, made with the same
// scripts as `npm test` (scripts/cluster.sh): initdb, the compatibility layer, the migrations
// and the seed. They live next to the test cluster in .local-stack and take the ports
// TEST_DB_PORT + 6 (model, MODEL_DB_PORT) and + 7 (crash, CRASH_DB_PORT), so one variable moves a
// whole run.
import postgres from "postgres";

const root = new URL("../../../", import.meta.url).pathname.replace(/\/$/, "");

/** The port of the test cluster `npm test` made, or TEST_DB_PORT, or the default. */
export function testDbPort(): number {
  const url = Deno.env.get("TEST_DB_URL");
  if (url && canMakeClusters()) {
    const port = new URL(url).port;
    if (port) return Number(port);
  }
  return Number(Deno.env.get("TEST_DB_PORT") ?? 54330);
}

/** The port of a cluster of the suite: its own variable, or TEST_DB_PORT + offset. */
export function suitePort(variable: string, offset: number): number {
  const own = Deno.env.get(variable);
  return own ? Number(own) : testDbPort() + offset;
}

/**
 * Whether the process was started with `name` set. Other Deno tests set SUPABASE_DB_URL for the
 * function they serve, and Deno evaluates each test module just before its tests, so the
 * environment as the shell passed it is read from /proc (the project runs on Linux only).
 */
function startedWith(name: string): boolean {
  try {
    return Deno.readTextFileSync("/proc/self/environ").split("\0").some((kv) => kv.startsWith(`${name}=`));
  } catch {
    return Deno.env.get(name) !== undefined;
  }
}

/** True when the suite may start clusters of its own (a plain local Postgres, not SUPABASE_DB_URL). */
export const canMakeClusters = () => !startedWith("SUPABASE_DB_URL");

async function bash(script: string, env: Record<string, string> = {}): Promise<string> {
  const cmd = new Deno.Command("bash", {
    args: ["-c", `source "${root}/scripts/lib.sh"; source "${root}/scripts/cluster.sh"; set +u; ${script}`],
    env: { ...env, DB_PORT: Deno.env.get("DB_PORT") ?? "54322" },
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`cluster script failed:\n${script}\n${text}`);
  return text;
}

export interface Cluster {
  name: string;
  port: number;
  url: string;
  /** postgres.js pool on the cluster. */
  connect(max?: number): ReturnType<typeof postgres>;
  /** `pg_ctl stop -m immediate`: every server process is killed, no checkpoint. */
  crash(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A fresh cluster NAME on PORT with migrations and seed. `durableCommits`: commits are
 * acknowledged only once their WAL is written (synchronous_commit = on), which is what an
 * immediate shutdown tests; fsync stays off as in the test cluster, because killing the server
 * processes leaves the kernel's page cache, so what was written survives. pg_cron's jobs are
 * unscheduled: the suite drives drips, expiry and hold sweeps itself through p_as_of.
 */
export async function makeCluster(
  name: string,
  port: number,
  opts: { durableCommits?: boolean } = {},
): Promise<Cluster> {
  const url = `postgresql://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  const conf = opts.durableCommits
    ? `echo "synchronous_commit = on" | as_pg_owner tee -a "$(cluster_dir ${name})/pgdata/postgresql.conf" >/dev/null;`
    : "";
  await bash(`cluster_destroy ${name}; cluster_init ${name} ${port} fast; ${conf}
    cluster_start ${name} ${port} fast && apply_compat ${port} && db_push '${url}' --include-seed`);
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  await sql`select cron.unschedule(jobid) from cron.job`;
  await sql.end();
  return {
    name,
    port,
    url,
    connect: (max = 10) => postgres(url, { max, prepare: false, onnotice: () => {}, idle_timeout: 5 }),
    crash: async () => {
      await bash(
        `as_pg_owner "$PG_BIN/pg_ctl" -D "$(cluster_dir ${name})/pgdata" -m immediate -w stop >/dev/null`,
      );
    },
    start: async () => {
      await bash(`cluster_start ${name} ${port} fast`);
    },
    destroy: async () => {
      await bash(`cluster_destroy ${name}`);
    },
  };
}
