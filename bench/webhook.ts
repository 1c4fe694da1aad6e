// Stripe webhook benchmark: signed checkout.session.completed events posted over HTTP to the
// served stripe-webhook function (scripts/local/functions-serve.ts: the real handler, in its own
// Deno process, as `npm start` serves it), which calls public.handle_stripe_event on the given
// database. Run by bench/40-webhook.sh (`npm run bench`); it can also run on its own against a
// database prepared with bench/setup-webhook.sql:
//
//   deno run -A bench/webhook.ts --db URL [--admin-db URL] [--events 1000] [--concurrency "1 10"] [--warmup 100]
//
// --admin-db is a superuser's URL for the checkpoint before each level (default: --db); the
// local clusters' postgres is not a superuser, as on Supabase.
//
// For each concurrency level: `events` new events (fresh event and session ids, one pack each,
// buyers taken in turn from the bench users), signed before the clock starts, then sent by
// `concurrency` clients that each post one event and wait for the answer before the next. Every
// answer must be 200 "processed"; anything else stops the run. Prints one line per level to
// stderr, and one tab-separated line per level to stdout for the harness:
//   concurrency  events  seconds  events_per_s  mean_ms  p50_ms  p99_ms
//   server_cpu_us_per_event  wal_bytes_per_event  function_cpu_us_per_event
// Server CPU is counted as scripts/bench.sh's bench_server_ticks counts it (the postmaster, its
// reaped and live children, from /proc: the database must run on this machine); the function's
// CPU is that of the served function's Deno process.
import postgres from "postgres";
import { editFixture, freshId, signature } from "../supabase/tests/deno/_stripe.ts";
import { cpuTicks, percentile, postmasterOf, serverTicks } from "./_proc.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1] : fallback;
}
function wholeNumber(name: string, value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
    throw new Error(`--${name} must be a positive whole number`);
  }
  return Number(value);
}

const dbUrl = arg("db", Deno.env.get("BENCH_URL") ?? "");
if (!dbUrl) throw new Error("--db URL is required (the database the function writes to)");
const events = wholeNumber("events", arg("events", "1000"));
const levels = arg("concurrency", "1 10").split(/[\s,]+/).filter(Boolean)
  .map((c) => wholeNumber("concurrency", c));
const warmup = arg("warmup", "100") === "0" ? 0 : wholeNumber("warmup", arg("warmup", "100"));
const pack = arg("pack", "bench_pack");
const usersLike = arg("users-like", "bench-webhook-%");
const clockTicks = wholeNumber("clk-tck", arg("clk-tck", "100")); // getconf CLK_TCK
// A secret for this run only: the function and the sender share it, nobody else needs it.
const secret = `whsec_bench_${crypto.randomUUID().replaceAll("-", "")}`;

const sql = postgres(dbUrl, { max: 1, prepare: false, onnotice: () => {} });
const admin = postgres(arg("admin-db", dbUrl), { max: 1, prepare: false, onnotice: () => {} });
const userRows = await sql`select id from auth.users where email like ${usersLike} order by id`;
const users = userRows.map((r) => r.id as string);
if (users.length === 0) {
  throw new Error(`no users whose email is like ${usersLike} (run bench/setup-webhook.sql first)`);
}

// ---- CPU and WAL ------------------------------------------------------------------------------

const [{ pid: backendPid }] = await sql`select pg_backend_pid() as pid`;
const postmaster = postmasterOf(backendPid);
// WAL position, not pg_stat_wal: the function's pooled backends stay open and report late.
const walBytes = async () =>
  Number((await sql`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as b`)[0].b);

// ---- the served function --------------------------------------------------------------------

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const port = freePort();
const root = new URL("../", import.meta.url);
const server = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-all", "--quiet", "scripts/local/functions-serve.ts", "--port", String(port)],
  cwd: root,
  env: { SUPABASE_DB_URL: dbUrl, STRIPE_WEBHOOK_SECRET: secret, NO_COLOR: "1" },
  stdin: "null",
  stdout: "null",
  stderr: "inherit", // the function's own error lines, if any, land in the bench log
}).spawn();
const base = `http://127.0.0.1:${port}/functions/v1`;

async function stopServer() {
  try {
    server.kill("SIGTERM");
  } catch {
    // already gone
  }
  await server.status;
}

// ---- events -------------------------------------------------------------------------------

let next = 0; // buyers in turn, across levels
async function signedEvents(n: number): Promise<{ body: string; sig: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const body = editFixture("checkout_session_completed_payment", (e) => {
      e.id = freshId("evt");
      e.created = Math.floor(Date.now() / 1000);
      const s = e.data.object;
      s.id = freshId("cs");
      s.payment_intent = freshId("pi");
      s.client_reference_id = users[next++ % users.length];
      s.metadata = { pack_id: pack };
    });
    out.push({ body, sig: await signature(body, { secret }) });
  }
  return out;
}

async function post(e: { body: string; sig: string }): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${base}/stripe-webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": e.sig },
    body: e.body,
  });
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status !== 200 || JSON.parse(text).status !== "processed") {
    throw new Error(`unexpected answer ${res.status}: ${text.slice(0, 300)}`);
  }
  return ms;
}

/** Sends every event with `concurrency` clients; returns the latencies and the wall time. */
async function run(list: { body: string; sig: string }[], concurrency: number) {
  const latencies: number[] = [];
  let i = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, async () => {
    while (i < list.length) latencies.push(await post(list[i++]));
  }));
  return { latencies, seconds: (performance.now() - started) / 1000 };
}


// ---- the run ------------------------------------------------------------------------------

try {
  for (let attempt = 0;; attempt++) {
    try {
      const res = await fetch(`${base}/health`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (attempt > 300) throw new Error("the functions server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }

  if (warmup > 0) await run(await signedEvents(warmup), Math.max(...levels));

  for (const concurrency of levels) {
    const list = await signedEvents(events);
    await admin`checkpoint`; // every level starts with dirty pages written, as bench_settle does
    const wal0 = await walBytes();
    const server0 = serverTicks(postmaster);
    const function0 = cpuTicks(server.pid, true);
    const { latencies, seconds } = await run(list, concurrency);
    const usPerEvent = (ticks: number) => (ticks * 1e6 / clockTicks / events).toFixed(0);
    const serverUs = usPerEvent(serverTicks(postmaster) - server0);
    const functionUs = usPerEvent(cpuTicks(server.pid, true) - function0);
    const wal = ((await walBytes()) - wal0) / events;
    latencies.sort((a, b) => a - b);
    const mean = latencies.reduce((s, v) => s + v, 0) / latencies.length;
    const p50 = percentile(latencies, 0.5);
    const p99 = percentile(latencies, 0.99);
    const rate = events / seconds;
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    console.error(
      `webhook: concurrency ${concurrency}: ${events} events in ${seconds.toFixed(2)} s = ` +
        `${rate.toFixed(1)} events/s; latency p50 ${ms(p50)}, p99 ${ms(p99)}, mean ${ms(mean)}; ` +
        `CPU per event: database ${serverUs} us, function ${functionUs} us; WAL ${wal.toFixed(0)} B/event`,
    );
    const row = [
      concurrency,
      events,
      seconds.toFixed(3),
      rate.toFixed(1),
      mean.toFixed(2),
      p50.toFixed(2),
      p99.toFixed(2),
      serverUs,
      wal.toFixed(0),
      functionUs,
    ];
    console.log(row.join("\t"));
  }
} finally {
  await stopServer();
  await sql.end();
  await admin.end();
}
