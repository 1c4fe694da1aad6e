// Crash recovery on a throw-away cluster (CRASH_DB_PORT, default TEST_DB_PORT + 7), commits acknowledged only once
// their WAL is written (synchronous_commit = on), as on Supabase.
//
// 1. Clients stream usage, grants, hold pairs (reserve then settle), Stripe purchases through
//    handle_stripe_event, and a run_due_drips batch over many due subscriptions. After a random
//    number of acknowledged calls the cluster is stopped with `pg_ctl stop -m immediate` and
//    started again. Then: every acknowledged call is there exactly once; an unacknowledged one
//    is there whole or not at all; verify_token_ledger() is empty; the drip run, run again until
//    nothing is due, issues every cycle exactly once; unacknowledged calls retried with their
//    keys apply at most once.
// 2. pg_terminate_backend at a random point of a drip batch: nothing of the batch stays; run
//    again, each cycle once.
// 3. pg_terminate_backend at a random point of a settle (before, during, after the statement,
//    before the commit): the hold is settled with its usage row, or untouched; settling again
//    writes one usage row in all.
import { makeCluster, suitePort } from "./cluster.ts";
import type { Sql } from "./db.ts";
import { rng } from "./rng.ts";
import { prepareCluster } from "./harness.ts";
import { paidPackSession, stripeEvent } from "../deno/_stripe.ts";

type Status = "acked" | "unacked" | "refused";
interface Sent {
  kind: "usage" | "grant" | "reserve" | "settle" | "purchase";
  key: string;
  user: string;
  hold?: string;
  status: Status;
}

const isLost = (e: unknown) => {
  const code = (e as { code?: string }).code ?? "";
  // the connection went away (no SQLSTATE, or the server's shutdown/crash codes)
  return !/^[0-9A-Z]{5}$/.test(code) || code.startsWith("57P") || code.startsWith("08");
};

async function call<T>(f: () => Promise<T>): Promise<{ status: Status; value?: T; code?: string }> {
  try {
    return { status: "acked", value: await f() };
  } catch (e) {
    if (isLost(e)) return { status: "unacked" };
    return { status: "refused", code: (e as { code: string }).code };
  }
}

export interface CrashReport {
  acked: number;
  unacked: number;
  cycles: number;
  batch: string; // how the drip batch ended: acked (before the crash) or unacked (killed by it)
  problems: string[];
}

/**
 * postgres.js can throw from a socket callback when the server vanishes under a query that is
 * being written (`socket.write` on a closed socket): that is the crash we cause, not a test
 * failure, so such errors are swallowed while a round runs. The query itself fails as well and
 * counts as unacknowledged.
 */
function swallowSocketErrors(): () => void {
  const isSocket = (e: unknown) =>
    /reading 'write'|ECONNRESET|EPIPE|connection/i.test(String((e as Error)?.message ?? e));
  const onError = (ev: ErrorEvent) => {
    if (isSocket(ev.error)) ev.preventDefault();
  };
  const onRejection = (ev: PromiseRejectionEvent) => {
    if (isSocket(ev.reason)) ev.preventDefault();
  };
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  return () => {
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  };
}

export async function crashRound(opts: { seed: number; subscriptions?: number }): Promise<CrashReport> {
  const restore = swallowSocketErrors();
  try {
    return await crashRoundInner(opts);
  } finally {
    restore();
  }
}

async function crashRoundInner(opts: { seed: number; subscriptions?: number }): Promise<CrashReport> {
  const r = rng(opts.seed);
  const cluster = await makeCluster("crash", suitePort("CRASH_DB_PORT", 7), { durableCommits: true });
  const problems: string[] = [];
  const report: CrashReport = { acked: 0, unacked: 0, cycles: 0, batch: "", problems };
  let admin = cluster.connect(2);
  let phase = "set-up";
  try {
    await prepareCluster(admin);
    const users = Array.from({ length: 8 }, () => crypto.randomUUID());
    await admin`insert into auth.users (id, email) select u, u::text || '@crash.test' from unnest(${users}::uuid[]) u`;
    for (const u of users) {
      await admin`select public.grant_tokens(${u}::uuid, 1000000, 'admin_grant', ${`start:${u}`})`;
    }
    // Due subscriptions for the drip batch: anchored 2 to 3 cycles back (catch-up), many users.
    const nSubs = opts.subscriptions ?? 1500;
    const subUsers = Array.from({ length: nSubs }, () => crypto.randomUUID());
    await admin`insert into auth.users (id, email) select u, u::text || '@crash.test' from unnest(${subUsers}::uuid[]) u`;
    await admin`
      insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor)
      select u, 'm_small', 'active', now() - (56 + (row_number() over ()) % 20) * interval '1 day' - interval '3 hours'
      from unnest(${subUsers}::uuid[]) u`;
    const [{ asof }] = await admin`select (now() + interval '1 hour')::text as asof`;

    phase = "streaming";
    // ---- 1. stream, crash, restart --------------------------------------------------------
    const sent: Sent[] = [];
    let acks = 0;
    const crashAfter = 20 + r.int(200);
    let crashed = false;
    let crashing: Promise<void> | null = null;
    const ack = () => {
      if (++acks >= crashAfter && !crashing) {
        crashing = cluster.crash().then(() => {
          crashed = true;
        });
      }
    };
    const clients: Promise<void>[] = [];
    const client = (body: (sql: Sql, i: number) => Promise<boolean>) => {
      clients.push((async () => {
        const sql = cluster.connect(1);
        for (let i = 0; !crashed; i++) {
          if (!(await body(sql, i))) break;
        }
        await sql.end({ timeout: 1 }).catch(() => {});
      })());
    };
    const track = async (s: Sent, f: () => Promise<unknown>) => {
      sent.push(s);
      const res = await call(f);
      s.status = res.status;
      if (res.status === "acked") ack();
      return res;
    };
    const pick = () => users[r.int(users.length)];
    client(async (sql, i) => {
      const u = pick();
      const res = await track(
        { kind: "usage", key: `use${i}`, user: u, status: "unacked" },
        () => sql`select public.record_usage('chat', ${1 + (i % 50)}, ${`use${i}`}, ${u}::uuid)`,
      );
      return res.status !== "unacked";
    });
    client(async (sql, i) => {
      const u = pick();
      const res = await track(
        { kind: "grant", key: `grant${i}`, user: u, status: "unacked" },
        () => sql`select public.grant_tokens(${u}::uuid, ${10 + i}, 'admin_grant', ${`grant${i}`})`,
      );
      return res.status !== "unacked";
    });
    client(async (sql, i) => {
      const u = pick();
      const reserve = await track(
        { kind: "reserve", key: `hold${i}`, user: u, status: "unacked" },
        () => sql`select public.reserve_tokens('chat', 100, ${`hold${i}`}, ${u}::uuid, 600) as r`,
      );
      if (reserve.status !== "acked") return reserve.status !== "unacked";
      const hold = (reserve.value as { r: { hold_id: string } }[])[0].r.hold_id;
      const res = await track(
        { kind: "settle", key: `hold${i}`, user: u, hold, status: "unacked" },
        () => sql`select public.settle_hold(${hold}::uuid, ${i % 3 === 0 ? 150 : 60})`,
      );
      return res.status !== "unacked";
    });
    client(async (sql, i) => {
      const u = pick();
      const event = {
        ...stripeEvent("checkout.session.completed", paidPackSession(`cs_crash_${i}`, u, "m_pack_1k")),
        id: `evt_crash_${i}`, // the purchase's key in the tracking below
      };
      const res = await track(
        { kind: "purchase", key: `evt_crash_${i}`, user: u, status: "unacked" },
        () => sql`select public.handle_stripe_event(${JSON.stringify(event)}::text::jsonb)`,
      );
      return res.status !== "unacked";
    });
    let dripBatch: Status = "unacked";
    clients.push((async () => {
      const sql = cluster.connect(1);
      const res = await call(() => sql`select public.run_due_drips(${asof}::timestamptz, 5000) as r`);
      dripBatch = res.status;
      if (res.status === "acked") ack();
      await sql.end({ timeout: 1 }).catch(() => {});
    })());
    await Promise.all(clients);
    if (!crashing) crashing = cluster.crash().then(() => void (crashed = true)); // the batch ended first
    await crashing;
    await admin.end({ timeout: 1 }).catch(() => {});
    await cluster.start();
    admin = cluster.connect(2);

    phase = "checks after the crash";
    report.acked = sent.filter((s) => s.status === "acked").length;
    report.unacked = sent.filter((s) => s.status === "unacked").length;
    const checkCall = async (s: Sent, when: string) => {
      const [row] = await admin`
        select (select count(*)::int from public.token_usage where idempotency_key = ${s.key} and user_id = ${s.user}::uuid) as usage,
               (select count(*)::int from public.token_transactions where idempotency_key = ${s.key}) as grants,
               (select count(*)::int from public.token_holds where idempotency_key = ${s.key} and user_id = ${s.user}::uuid) as holds,
               (select status from public.token_holds where id = ${s.hold ?? null}::uuid) as hold_status,
               (select count(*)::int from public.token_usage where hold_id = ${
        s.hold ?? null
      }::uuid) as hold_usage,
               (select count(*)::int from public.stripe_events where id = ${s.key}) as events,
               (select count(*)::int from public.token_transactions where idempotency_key = ${`checkout:cs_crash_${
        s.key.slice(10)
      }`}) as purchases`;
      const n = {
        usage: row.usage,
        grant: row.grants,
        reserve: row.holds,
        settle: row.hold_status === "settled" ? 1 : 0,
        purchase: row.events,
      }[s.kind];
      if (s.kind === "settle" && (row.hold_status === "settled") !== (row.hold_usage === 1)) {
        problems.push(
          `${when}: hold ${s.hold} half-settled (status ${row.hold_status}, ${row.hold_usage} usage rows)`,
        );
      }
      if (s.kind === "purchase" && row.events !== row.purchases) {
        problems.push(
          `${when}: event ${s.key} recorded ${row.events} times, purchase ${row.purchases} times`,
        );
      }
      if (s.status === "acked" && n !== 1) {
        problems.push(`${when}: acknowledged ${s.kind} ${s.key} present ${n} times`);
      }
      if (s.status !== "acked" && n > 1) problems.push(`${when}: ${s.kind} ${s.key} present ${n} times`);
    };
    for (const s of sent) await checkCall(s, "after the crash");
    const verify = async (when: string) => {
      const bad = await admin`select * from public.verify_token_ledger()`;
      if (bad.length) problems.push(`${when}: verify_token_ledger() = ${JSON.stringify(bad.slice(0, 3))}`);
    };
    await verify("after the crash");
    const checkCycles = async (when: string, complete: boolean) => {
      const [row] = await admin`
        select count(*) filter (where s.next_cycle_number - 1 <> coalesce(d.n, 0) or coalesce(d.n, 0) <> coalesce(d.maxc, 0))::int as broken,
               count(*) filter (where s.next_drip_at <= ${asof}::timestamptz)::int as due,
               sum(coalesce(d.n, 0))::int as cycles
        from public.customer_subscriptions s
        left join (select subscription_id, count(*) as n, max(cycle_number) as maxc from public.token_drips group by 1) d
          on d.subscription_id = s.id`;
      if (row.broken) {
        problems.push(
          `${when}: ${row.broken} subscriptions whose drip rows are not cycles 1..n exactly once`,
        );
      }
      if (complete && row.due) problems.push(`${when}: ${row.due} subscriptions still due`);
      return row.cycles as number;
    };
    report.batch = dripBatch;
    await checkCycles(`after the crash (batch ${dripBatch})`, false);

    phase = "retries";
    // Retries of what was not acknowledged, with the same keys: at most once in all.
    const sql = cluster.connect(1);
    for (const s of sent.filter((x) => x.status === "unacked")) {
      if (s.kind === "usage") {
        await call(() =>
          sql`select public.record_usage('chat', ${
            1 + (Number(s.key.slice(3)) % 50)
          }, ${s.key}, ${s.user}::uuid)`
        );
      }
      if (s.kind === "grant") {
        await call(() =>
          sql`select public.grant_tokens(${s.user}::uuid, ${
            10 + Number(s.key.slice(5))
          }, 'admin_grant', ${s.key})`
        );
      }
      if (s.kind === "settle") {
        await call(() =>
          sql`select public.settle_hold(${s.hold!}::uuid, ${Number(s.key.slice(4)) % 3 === 0 ? 150 : 60})`
        );
      }
      s.status = "acked";
      if (s.kind === "usage" || s.kind === "grant" || s.kind === "settle") {
        await checkCall(s, "after the retry");
      }
    }
    // The drip run completes: each cycle exactly once.
    for (let i = 0; i < 20; i++) {
      const [{ r: res }] = await sql`select public.run_due_drips(${asof}::timestamptz, 5000) as r`;
      if (res.subscriptions === 0) break;
    }
    report.cycles = await checkCycles("after the drip run completed", true);
    await verify("after the drip run completed");

    phase = "killed drip batch";
    // ---- 2. pg_terminate_backend at a random point of a drip batch -----------------------------
    const [{ asof2 }] = await admin`select (${asof}::timestamptz + interval '28 days')::text as asof2`;
    const beforeCycles = report.cycles;
    const batchConn = cluster.connect(1);
    const [{ pid }] = await batchConn`select pg_backend_pid() as pid`;
    const batch = call(() => batchConn`select public.run_due_drips(${asof2}::timestamptz, 5000)`);
    for (let i = r.int(40); i > 0; i--) await admin`select 1`;
    await admin`select pg_terminate_backend(${pid})`;
    const batchResult = await batch;
    await batchConn.end({ timeout: 1 }).catch(() => {});
    const afterKill = await checkCycles(`after killing the drip batch (${batchResult.status})`, false);
    if (batchResult.status !== "acked" && afterKill !== beforeCycles) {
      problems.push(`the killed drip batch left ${afterKill - beforeCycles} cycles behind`);
    }
    await verify("after killing the drip batch");
    for (let i = 0; i < 20; i++) {
      const [{ r: res }] = await sql`select public.run_due_drips(${asof2}::timestamptz, 5000) as r`;
      if (res.subscriptions === 0) break;
    }
    const [{ stillDue }] =
      await admin`select count(*)::int as "stillDue" from public.customer_subscriptions where next_drip_at <= ${asof2}::timestamptz`;
    if (stillDue) problems.push(`after the second drip run: ${stillDue} subscriptions still due`);
    const afterRun = await checkCycles("after the second drip run", false);
    if (afterRun !== beforeCycles + nSubs) {
      problems.push(`second drip run: ${afterRun - beforeCycles} cycles for ${nSubs} subscriptions`);
    }

    phase = "killed settles";
    // ---- 3. pg_terminate_backend at random points of a settle -----------------------------------
    for (let k = 0; k < 6; k++) {
      const u = users[k % users.length];
      const [{ r: hold }] =
        await sql`select public.reserve_tokens('chat', 500, ${`kill${k}`}, ${u}::uuid, 600) as r`;
      const conn = cluster.connect(1);
      const [{ pid: p }] = await conn`select pg_backend_pid() as pid`;
      const point = r.int(4); // 0: before the settle, 1: while it runs, 2: after it, 3: during commit
      const settle = call(() =>
        conn.begin(async (tx) => {
          if (point === 0) await admin`select pg_terminate_backend(${p})`;
          const q = tx`select public.settle_hold(${hold.hold_id}::uuid, 700)`.execute();
          if (point === 1) await admin`select pg_terminate_backend(${p})`;
          await q;
          if (point === 2) await admin`select pg_terminate_backend(${p})`;
        })
      );
      if (point === 3) await admin`select pg_terminate_backend(${p})`;
      const res = await settle;
      await conn.end({ timeout: 1 }).catch(() => {});
      const [row] =
        await admin`select status, (select count(*)::int from public.token_usage where hold_id = h.id) as n from public.token_holds h where id = ${hold.hold_id}::uuid`;
      if ((row.status === "settled") !== (row.n === 1) || row.n > 1) {
        problems.push(`settle killed at point ${point}: status ${row.status}, ${row.n} usage rows`);
      }
      if (res.status === "acked" && row.status !== "settled") {
        problems.push(`settle acknowledged but hold ${row.status}`);
      }
      await sql`select public.settle_hold(${hold.hold_id}::uuid, 700)`;
      const [again] =
        await admin`select count(*)::int as n from public.token_usage where hold_id = ${hold.hold_id}::uuid`;
      if (again.n !== 1) problems.push(`settle after the kill at point ${point}: ${again.n} usage rows`);
    }
    await verify("after killing settles");
    await sql.end({ timeout: 1 }).catch(() => {});
  } catch (e) {
    throw new Error(`crash round (seed ${opts.seed}), ${phase}: ${(e as Error).message}`, { cause: e });
  } finally {
    await admin.end({ timeout: 1 }).catch(() => {});
    await cluster.destroy();
  }
  return report;
}
