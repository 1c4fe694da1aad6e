// Concurrency of the drip batch over real connections (TEST_DB_URL).
//
// 1,000 subscriptions on the default plan (375,000 tokens every 28 days, one rollover cycle)
// are anchored at one instant: the database's now() when the test sets them up. Two runners,
// each on its own connection as service_role (as PostgREST sends the service key), call
// `run_due_drips(p_as_of, p_limit => 100)` in a loop, one transaction per call, until both see
// `subscriptions: 0`. The as-of values are computed from the anchor, never from the clock:
//   phase 1, as of the anchor: cycle 1 of every subscription (one cycle due: the set-based path);
//   phase 2, as of anchor + 56 days: cycles 2 and 3 (a catch-up: one subscription at a time).
// Every (subscription, cycle) must be issued exactly once, nothing early, the runners' counts
// must be what they wrote, and balances and the ledger must be right. No sleeps, no timing
// asserts.
//
// run_due_drips takes whatever is due in the database, not only this test's subscriptions: in
// a fresh test database nothing else is, but a reused one may hold other due subscriptions, and
// pg_cron's token-drips job (every 5 minutes, as of its own now()) may take part in phase 1 if
// it fires meanwhile. Rows are therefore attributed to the runners by the transaction that
// wrote them: a drip row's created_at is its transaction's now(), its start time to the
// microsecond (not xmin: run_due_drips isolates each subscription in a subtransaction, whose
// rows carry the subtransaction's id), so every assertion stays exact.
import assert from "node:assert/strict";
import { actAsService, connect, type Sql } from "./_helpers.ts";

type Batch = { subscriptions: number; cycles_issued: number; tokens_dripped: number; tokens_expired: number };
type Call = { at: string; result: Batch };

const N = 1000;
const LIMIT = 100;
const DRIP = 375000;

/** One run_due_drips call in its own transaction as service_role; `hold` runs before commit. */
async function batch(sql: Sql, asOf: string, hold?: () => Promise<void>): Promise<Call> {
  return await sql.begin(async (tx) => {
    await actAsService(tx as unknown as Sql);
    const [row] = await tx`
      select public.run_due_drips(p_as_of => ${asOf}::timestamptz, p_limit => ${LIMIT}) as result,
             now()::text as at`;
    if (hold) await hold();
    return { at: row.at as string, result: row.result as Batch };
  }) as Call;
}

/** Calls run_due_drips until a call finds nothing due; `calls` may already hold a first call. */
async function loop(sql: Sql, asOf: string, calls: Call[] = []): Promise<Call[]> {
  while (calls.length === 0 || calls[calls.length - 1].result.subscriptions > 0) {
    calls.push(await batch(sql, asOf));
  }
  return calls;
}

async function stillDue(sql: Sql, subs: string[], asOf: string) {
  const [row] = await sql`
    select count(*)::int as n from public.customer_subscriptions
    where id = any(${subs}::uuid[]) and next_drip_at <= ${asOf}::timestamptz`;
  return row.n as number;
}

/**
 * Two runners at once. Their first batches overlap for certain: runner A takes its batch and
 * keeps its transaction (and so the users' balance rows) open until runner B has taken and
 * committed a batch of its own. Then both loop freely until each sees 0. Should any of `subs`
 * still be due (a third party, such as pg_cron, held some users while both saw 0), both go again.
 */
async function twoRunners(a: Sql, b: Sql, asOf: string, subs: string[]) {
  let aTook!: () => void;
  const aHolding = new Promise<void>((r) => (aTook = r));
  let bDone!: () => void;
  const bCommitted = new Promise<void>((r) => (bDone = r));
  const [callsA, callsB] = await Promise.all([
    (async () => {
      const first = await batch(a, asOf, async () => {
        aTook();
        await bCommitted;
      });
      return await loop(a, asOf, [first]);
    })(),
    (async () => {
      await aHolding;
      const first = await batch(b, asOf);
      bDone();
      return await loop(b, asOf, [first]);
    })(),
  ]);
  const firstA = callsA[0], firstB = callsB[0];
  for (let round = 0; round < 100 && (await stillDue(a, subs, asOf)) > 0; round++) {
    const [moreA, moreB] = await Promise.all([loop(a, asOf), loop(b, asOf)]);
    callsA.push(...moreA);
    callsB.push(...moreB);
  }
  assert.equal(await stillDue(a, subs, asOf), 0, "nothing of this test is left due");
  return { calls: [...callsA, ...callsB], callsA, callsB, firstA, firstB };
}

const sum = (calls: Call[], k: keyof Batch) => calls.reduce((s, c) => s + c.result[k], 0);

/** What the runners' transactions wrote: all their drip rows, and those of `subs`. */
async function writtenBy(sql: Sql, calls: Call[], subs: string[]) {
  // One string: postgres.js would send a string array as dates, cut to milliseconds.
  const ats = calls.map((c) => c.at);
  const [row] = await sql`
    select count(*)::int as rows,
           count(*) filter (where subscription_id = any(${subs}::uuid[]))::int as mine,
           coalesce(sum(drip_amount), 0)::float8 as dripped,
           coalesce(sum(expired_tokens), 0)::float8 as expired
    from public.token_drips
    where created_at = any(string_to_array(${ats.join(",")}::text, ',')::timestamptz[])`;
  return row as { rows: number; mine: number; dripped: number; expired: number };
}

/** The drip rows of `subs`: how many, and how many (subscription, cycle) pairs occur twice. */
async function rowsOf(sql: Sql, subs: string[]) {
  const [row] = await sql`
    select count(*)::int as total,
           (select count(*)::int from (
              select 1 from public.token_drips where subscription_id = any(${subs}::uuid[])
              group by subscription_id, cycle_number having count(*) > 1) d) as duplicates
    from public.token_drips where subscription_id = any(${subs}::uuid[])`;
  return row as { total: number; duplicates: number };
}

/** `n` new users (random ids), each with an active subscription to the default plan anchored at `anchor`. */
async function subscribers(sql: Sql, n: number, anchor: string) {
  const tag = crypto.randomUUID();
  const rows = await sql`
    with users as (
      insert into auth.users (id, email)
      select gen_random_uuid(), ${tag} || '-' || i || '@drips-concurrency.test' from generate_series(1, ${n}::int) i
      returning id
    )
    insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
    select gen_random_uuid(), u.id, 'default', 'active', ${anchor}::timestamptz from users u
    returning id::text as id, user_id::text as user_id`;
  return { subs: rows.map((r) => r.id as string), users: rows.map((r) => r.user_id as string) };
}

/** Runner A's and runner B's first batches wrote drips for no common subscription. */
async function disjoint(sql: Sql, x: Call, y: Call) {
  const [row] = await sql`
    select count(*)::int as n from (
      select subscription_id from public.token_drips where created_at in (${x.at}::text::timestamptz, ${y.at}::text::timestamptz)
      group by subscription_id having count(distinct created_at) > 1) s`;
  return row.n === 0;
}

Deno.test("drips concurrency: two run_due_drips loops over 1,000 due subscriptions issue each cycle exactly once", async () => {
  const setup = connect(1);
  const a = connect(1);
  const b = connect(1);
  try {
    // 1,000 users and subscriptions, set-based, with random ids; one fixed anchor: now.
    const [{ anchor, phase2 }] = await setup`
      select now()::text as anchor, (now() + interval '56 days')::text as phase2`;
    const { subs, users } = await subscribers(setup, N, anchor);
    assert.equal(subs.length, N);
    assert.equal(await stillDue(setup, subs, anchor), N, "every subscription is due at its anchor");

    // The runners really use two server sessions.
    const [[pa], [pb]] = await Promise.all([
      a`select pg_backend_pid() as pid`,
      b`select pg_backend_pid() as pid`,
    ]);
    assert.notEqual(pa.pid, pb.pid);

    // Phase 1: as of the anchor, cycle 1 of each subscription.
    const p1 = await twoRunners(a, b, anchor, subs);
    assert.equal(p1.firstA.result.subscriptions, LIMIT, "runner A's first batch is full");
    assert.equal(
      p1.firstB.result.subscriptions,
      LIMIT,
      "runner B's batch, taken while A's was open, is full too",
    );
    assert.ok(
      await disjoint(setup, p1.firstA, p1.firstB),
      "B skipped A's locked users: no subscription in both batches",
    );
    const r1 = await rowsOf(setup, subs);
    assert.deepEqual(r1, { total: N, duplicates: 0 }, "phase 1: one row per subscription");
    const [c1] = await setup`
      select count(*) filter (where cycle_number <> 1)::int as early
      from public.token_drips where subscription_id = any(${subs}::uuid[])`;
    assert.equal(c1.early, 0, "only cycle 1 is due as of the anchor: nothing issued early");
    const w1 = await writtenBy(setup, p1.calls, subs);
    assert.equal(sum(p1.calls, "cycles_issued"), w1.rows, "the runners' cycles_issued is what they wrote");
    assert.equal(sum(p1.calls, "tokens_dripped"), w1.dripped);
    assert.equal(sum(p1.calls, "tokens_expired"), w1.expired);
    if (w1.rows !== N || w1.mine !== N) {
      console.log(
        `phase 1: the runners also dripped ${w1.rows - w1.mine} cycles of other subscriptions; ` +
          `${N - w1.mine} of this test's were dripped by another runner (pg_cron)`,
      );
    }

    // Phase 2: as of anchor + 56 days, cycles 2 and 3 (cycle 3 expires cycle 1's lot). Nothing
    // else drips as of a future instant, so all of this test's rows are the runners'.
    const p2 = await twoRunners(a, b, phase2, subs);
    assert.equal(p2.firstA.result.subscriptions, LIMIT);
    assert.equal(p2.firstB.result.subscriptions, LIMIT);
    assert.ok(await disjoint(setup, p2.firstA, p2.firstB), "no subscription in both first batches");
    const r2 = await rowsOf(setup, subs);
    assert.deepEqual(
      r2,
      { total: 3 * N, duplicates: 0 },
      "three rows per subscription, no (subscription, cycle) twice",
    );
    const w2 = await writtenBy(setup, p2.calls, subs);
    assert.equal(w2.mine, 2 * N, "the runners issued cycles 2 and 3 of every subscription");
    assert.equal(sum(p2.calls, "cycles_issued"), w2.rows, "the runners' cycles_issued is what they wrote");
    assert.equal(sum(p2.calls, "tokens_dripped"), w2.dripped);
    assert.equal(sum(p2.calls, "tokens_expired"), w2.expired);
    if (w2.rows === w2.mine) {
      assert.equal(sum(p2.calls, "cycles_issued"), 2 * N, "cycles_issued over both runners: 2,000");
      assert.equal(sum(p2.calls, "tokens_dripped"), 2 * N * DRIP);
      assert.equal(sum(p2.calls, "tokens_expired"), N * DRIP, "cycle 3 expired each cycle 1 lot");
    } else {
      console.log(`phase 2: the runners also dripped ${w2.rows - w2.mine} cycles of other subscriptions`);
    }
    assert.ok(
      sum(p2.callsA, "cycles_issued") > 0 && sum(p2.callsB, "cycles_issued") > 0,
      "both runners did work",
    );

    // Every row is what an on-time run would have written.
    const [check] = await setup`
      select count(*)::int as n,
             count(*) filter (where not (
               (cycle_number, rollover_from_previous, rollover_cycles_count, expired_tokens, balance_before, balance_after) in (
                 (1, 0, 0, 0, 0, 375000), (2, 375000, 1, 0, 375000, 750000), (3, 375000, 1, 375000, 750000, 750000))
               and drip_amount = 375000 and plan_id = 'default'
               and billing_period_start = ${anchor}::timestamptz + (cycle_number - 1) * interval '28 days'
               and billing_period_end = ${anchor}::timestamptz + cycle_number * interval '28 days'
               and drip_date = billing_period_start))::int as wrong,
             count(distinct subscription_id)::int as subs
      from public.token_drips where subscription_id = any(${subs}::uuid[])`;
    assert.deepEqual({ ...check }, { n: 3 * N, wrong: 0, subs: N });
    const [sched] = await setup`
      select count(*) filter (where next_cycle_number = 4 and next_drip_at = ${anchor}::timestamptz + interval '84 days')::int as ok
      from public.customer_subscriptions where id = any(${subs}::uuid[])`;
    assert.equal(sched.ok, N, "every schedule waits for cycle 4");

    // Balances: cycles 2 and 3 hold 750,000 per user; cycle 1's lot is empty.
    const [bal] = await setup`
      select count(*) filter (where b.balance = 750000 and b.debt = 0)::int as right,
             sum(b.balance)::float8 as total,
             (select sum(l.remaining)::float8 from public.token_lots l where l.user_id = any(${users}::uuid[])) as lots
      from public.token_balances b where b.user_id = any(${users}::uuid[])`;
    assert.deepEqual({ ...bal }, { right: N, total: N * 750000, lots: N * 750000 });
    assert.deepEqual(
      [...await setup`select * from public.verify_token_ledger()`],
      [],
      "the whole ledger verifies",
    );
  } finally {
    await Promise.all([setup.end(), a.end(), b.end()]);
  }
});

Deno.test("drips concurrency: the cron job's command, run on two connections at once, drips each due cycle once", async () => {
  const setup = connect(1);
  const a = connect(1);
  const b = connect(1);
  try {
    // 300 subscriptions anchored now: due for the cron job's `select public.run_due_drips(now(), ...)`.
    const [{ anchor }] = await setup`select now()::text as anchor`;
    const { subs, users } = await subscribers(setup, 300, anchor);

    // As pg_cron runs it: a session that did not switch role, one batch per run; two runs
    // overlap and each keeps running until nothing is left due.
    const drain = async (conn: typeof a) => {
      for (;;) {
        const [r] = await conn`select public.run_due_drips(now(), 50) as r`.simple();
        if (r.r.subscriptions === 0) return;
      }
    };
    await Promise.all([drain(a), drain(b)]);

    assert.equal(await stillDue(setup, subs, anchor), 0, "nothing of this test is left due");
    const [c] = await setup`
      select count(*)::int as n, count(distinct subscription_id)::int as subs,
             count(*) filter (where cycle_number = 1 and balance_before = 0 and balance_after = 375000
                              and billing_period_start = ${anchor}::timestamptz)::int as right
      from public.token_drips where subscription_id = any(${subs}::uuid[])`;
    assert.deepEqual(
      { ...c },
      { n: 300, subs: 300, right: 300 },
      "cycle 1 of each subscription, once, nothing early",
    );
    const [bal] = await setup`
      select count(*) filter (where balance = 375000)::int as right from public.token_balances where user_id = any(${users}::uuid[])`;
    assert.equal(bal.right, 300);
    assert.deepEqual(
      [...await setup`select * from public.verify_token_ledger()`],
      [],
      "the whole ledger verifies",
    );
  } finally {
    await Promise.all([setup.end(), a.end(), b.end()]);
  }
});
