// API benchmark: record_usage through the gateway (HTTP, PostgREST, a user's JWT) against a no-op
// RPC through the same gateway, in the same run. Run by bench/50-api.sh (`npm run bench`):
//
//   deno run -A bench/api.ts --db URL --api URL --anon-key KEY --jwt-secret SECRET --gateway-pid PID
//     [--admin-db URL] [--seconds 20] [--warmup 5] [--clients 16] [--users-like 'bench-api-%'] [--clk-tck 100]
//
// --admin-db is a superuser's URL for a checkpoint before each measured run (default: --db).
//
// `clients` concurrent clients, each one keep-alive connection (fetch reuses it), each sending
// one request, waiting for the answer, then the next, for `seconds`. Every request is from a
// random user of the set, with that user's access token (claims as Supabase Auth signs them),
// the anon key as apikey, and a new idempotency key: record_usage spends 1 token. Runs, after a
// warm-up of each RPC: the no-op, record_usage, the no-op again (the no-op brackets record_usage,
// so that a change of the machine's load during the run shows). Every answer must be 200.
//
// Prints one line per run to stderr, and one tab-separated line per run to stdout:
//   id  rpc  requests  seconds  requests_per_s  mean_ms  p50_ms  p99_ms
//   db_cpu_us_per_request  postgrest_cpu_us_per_request  gateway_cpu_us_per_request  client_cpu_us_per_request
// (db: the Postgres server; postgrest and gateway: the two processes of the gateway's process
// group; client: this process, the load generator).
import postgres from "postgres";
import { signJwt, userClaims } from "../scripts/local/jwt.ts";
import { cpuTicks, groupTicks, percentile, postmasterOf, serverTicks } from "./_proc.ts";

function arg(name: string, fallback?: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  const v = i >= 0 ? Deno.args[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}
function whole(name: string, fallback?: string): number {
  const v = arg(name, fallback);
  if (!/^[0-9]+$/.test(v)) throw new Error(`--${name} must be a whole number`);
  return Number(v);
}

const api = arg("api");
const anonKey = arg("anon-key");
const secret = arg("jwt-secret");
const gatewayPgid = whole("gateway-pid");
const seconds = whole("seconds", "20");
const warmup = whole("warmup", "5");
const clients = whole("clients", "16");
const clockTicks = whole("clk-tck", "100");
const usersLike = arg("users-like", "bench-api-%");

const sql = postgres(arg("db"), { max: 1, prepare: false, onnotice: () => {} });
const users = await sql`select id, email, phone, raw_app_meta_data, raw_user_meta_data, is_anonymous
                          from auth.users where email like ${usersLike}`;
if (users.length === 0) throw new Error(`no users like ${usersLike} (run bench/setup-api.sql first)`);
const tokens = await Promise.all(
  users.map((u) => signJwt(userClaims(u as never, { apiUrl: api, expiresIn: 24 * 3600 }), secret)),
);
const [{ pid: backendPid }] = await sql`select pg_backend_pid() as pid`;
const postmaster = postmasterOf(backendPid);
await sql.end();
const admin = postgres(arg("admin-db", arg("db")), { max: 1, prepare: false, onnotice: () => {} });

let sequence = 0;
const runTag = crypto.randomUUID().slice(0, 8);

/** Runs `rpc` with `clients` clients for `secs` seconds; every answer must be 200. */
async function run(rpc: string, secs: number) {
  const url = `${api}/rest/v1/rpc/${rpc}`;
  const latencies: number[] = [];
  const deadline = performance.now() + secs * 1000;
  const ticks = () => {
    const all = groupTicks(gatewayPgid);
    const rest = groupTicks(gatewayPgid, "postgrest");
    return { db: serverTicks(postmaster), rest, gateway: all - rest, client: cpuTicks("self", false) };
  };
  const t0 = ticks();
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < deadline) {
      const token = tokens[Math.floor(Math.random() * tokens.length)];
      const body = JSON.stringify({
        p_feature: "chat",
        p_tokens: 1,
        p_idempotency_key: `bench:${runTag}:${sequence++}`,
      });
      const sent = performance.now();
      const res = await fetch(url, {
        method: "POST",
        headers: { apikey: anonKey, authorization: `Bearer ${token}`, "content-type": "application/json" },
        body,
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${rpc}: HTTP ${res.status}: ${text.slice(0, 300)}`);
      latencies.push(performance.now() - sent);
    }
  }));
  const wall = (performance.now() - started) / 1000;
  const t1 = ticks();
  const perRequest = (ticks: number) => (ticks * 1e6 / clockTicks / latencies.length).toFixed(0);
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    wall,
    rate: latencies.length / wall,
    mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    db: perRequest(t1.db - t0.db),
    rest: perRequest(t1.rest - t0.rest),
    gateway: perRequest(t1.gateway - t0.gateway),
    client: perRequest(t1.client - t0.client),
  };
}

if (warmup > 0) {
  await run("bench_noop", warmup);
  await run("record_usage", warmup);
}
for (const [id, rpc] of [["x-noop-1", "bench_noop"], ["x-ru", "record_usage"], ["x-noop-2", "bench_noop"]]) {
  await admin`checkpoint`; // every run starts with dirty pages written, as bench_settle does
  const r = await run(rpc, seconds);
  console.error(
    `(${id}) ${rpc}: ${r.rate.toFixed(1)} req/s, mean ${r.mean.toFixed(2)} ms, p50 ${r.p50.toFixed(2)} ms, ` +
      `p99 ${
        r.p99.toFixed(2)
      } ms; CPU per request: db ${r.db} us, PostgREST ${r.rest} us, gateway ${r.gateway} us, ` +
      `client ${r.client} us`,
  );
  console.log(
    [
      id,
      rpc,
      r.requests,
      r.wall.toFixed(2),
      r.rate.toFixed(1),
      r.mean.toFixed(3),
      r.p50.toFixed(2),
      r.p99.toFixed(2),
      r.db,
      r.rest,
      r.gateway,
      r.client,
    ].join("\t"),
  );
}
await admin.end();
