// Differential test of the ledger's state (issue 12): random sequences of operations run through
// the live functions and through the eager-burn reference (differential/eager_reference.pgsql: the
// functions as they stood before the hot path deferred and cached anything, on copies of the
// state and ledger tables in schema `ref`). After every step both must show the same thing:
// the step's result or error, get_token_balance (balance, debt, held, available, every lot's
// remaining in burn order, next expiry), the balance row, every ledger row (transactions with
// their expirations, usage with overage, drips with expired_tokens and rollover), every hold,
// and verify_token_ledger() must be empty.
//
// Operations: grants (permanent and expiring), purchases, usage (new keys, replays, reused keys),
// deductions, refunds (a clawback of a purchase, debt when the lots cannot cover it), holds
// (reserve, settle below / at / above the hold, release, lapse, the sweep), subscriptions with
// drips (rollover cycles and caps, status changes), the drip batch and the expiry sweep, and
// clock advances. The clock cannot move inside the database, so a clock advance shifts every
// stored time of the user's state back by the same amount in both worlds: lots, holds,
// subscriptions (moving an expiry earlier by hand sets the balance row's cached due time again,
// as it would for an operator). Both worlds run a step in the same
// transaction, so they see the same now().
//
// Bounded by default (DIFF_SEQUENCES sequences of DIFF_STEPS steps). A failure prints the
// sequence's seed; replay it alone with
//   DIFF_SEED=<seed> DIFF_SEQUENCES=1 TEST_DB_URL=... deno test -A supabase/tests/deno/differential.test.ts
// The long run: DIFF_SEQUENCES=2000 DIFF_STEPS=80 (same command).
import assert from "node:assert/strict";
import { connect, type Sql } from "./_helpers.ts";
import { rng } from "../model/rng.ts";

const SEQUENCES = Number(Deno.env.get("DIFF_SEQUENCES") ?? "24");
const STEPS = Number(Deno.env.get("DIFF_STEPS") ?? "40");
const BASE_SEED = Number(Deno.env.get("DIFF_SEED") ?? String(Math.floor(Math.random() * 1e9)));

type World = "public" | "ref";
type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string; detail?: string };

// Ids differ between the worlds (each generates its own); everything else must be equal.
const ID_KEYS = new Set(["usage_id", "hold_id", "transaction_id", "purchase_id", "subscription_id"]);
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).filter(([k]) => !ID_KEYS.has(k)).map(([k, x]) => [k, normalize(x)]),
    );
  }
  return v;
}

async function attempt(tx: Sql, run: (tx: Sql) => Promise<unknown>): Promise<Outcome> {
  try {
    // A savepoint per world: a refused call leaves nothing, and the other world still runs.
    const value = await (tx as unknown as { savepoint: (f: (s: Sql) => Promise<unknown>) => Promise<unknown> })
      .savepoint((sp) => run(sp));
    return { ok: true, value: normalize(value) };
  } catch (e) {
    const err = e as { code?: string; message?: string; detail?: string };
    if (!err.code) throw e;
    return { ok: false, code: err.code, message: err.message ?? "", detail: err.detail };
  }
}

// ---- the operations, in each world ------------------------------------------------------------

const one = async (q: Promise<unknown>) => ((await q) as { r: unknown }[])[0]?.r ?? null;

function ops(tx: Sql, w: World, user: string) {
  const pub = w === "public";
  return {
    grant: (amount: number, type: string, expiresHours: number | null, key: string) =>
      one(
        pub
          ? tx`select public.grant_tokens(p_user_id => ${user}::uuid, p_amount => ${amount}::bigint, p_type => ${type},
                 p_idempotency_key => ${key}, p_expires_at => now() + ${expiresHours}::int * interval '1 hour') as r`
          : tx`select ref.grant_tokens(${user}::uuid, ${amount}::bigint, ${type}, ${key}, null,
                 now() + ${expiresHours}::int * interval '1 hour') as r`,
      ),
    purchase: (key: string) =>
      one(
        pub
          ? tx`select public.record_purchase(p_user_id => ${user}::uuid, p_pack_id => 'diff_pack', p_idempotency_key => ${key},
                 p_amount_cents => 1000, p_currency => 'usd') as r`
          : tx`select ref.record_purchase(${user}::uuid, 'diff_pack', ${key}, 1000, 'usd') as r`,
      ),
    usage: (tokens: number, key: string) =>
      one(
        pub
          ? tx`select public.record_usage(p_feature => 'chat', p_tokens => ${tokens}::bigint, p_idempotency_key => ${key},
                 p_user_id => ${user}::uuid) as r`
          : tx`select ref.record_usage(p_feature => 'chat', p_tokens => ${tokens}::bigint, p_idempotency_key => ${key},
                 p_user_id => ${user}::uuid) as r`,
      ),
    reserve: (tokens: number, ttl: number, key: string) =>
      one(
        pub
          ? tx`select public.reserve_tokens(p_feature => 'chat', p_tokens => ${tokens}::bigint, p_idempotency_key => ${key},
                 p_user_id => ${user}::uuid, p_ttl_seconds => ${ttl}) as r`
          : tx`select ref.reserve_tokens(p_feature => 'chat', p_tokens => ${tokens}::bigint, p_idempotency_key => ${key},
                 p_user_id => ${user}::uuid, p_ttl_seconds => ${ttl}) as r`,
      ),
    settle: (hold: string, used: number) =>
      one(
        pub
          ? tx`select public.settle_hold(p_hold_id => ${hold}::uuid, p_tokens_used => ${used}::bigint) as r`
          : tx`select ref.settle_hold(p_hold_id => ${hold}::uuid, p_tokens_used => ${used}::bigint) as r`,
      ),
    release: (hold: string) =>
      one(
        pub
          ? tx`select public.release_hold(p_hold_id => ${hold}::uuid) as r`
          : tx`select ref.release_hold(p_hold_id => ${hold}::uuid) as r`,
      ),
    // A clawback of a purchase, as the webhook's refunds and disputes post it: under the user's
    // lock, after settling what is due, the purchase's own lot first, debt for the rest.
    refund: (purchaseKey: string, tokens: number, key: string) =>
      one(
        pub
          ? tx`select private.transaction_result(private.post_transaction(jsonb_populate_record(null::public.token_transactions,
                   jsonb_build_object('user_id', ${user}::uuid, 'transaction_type', 'refund', 'token_amount', -${tokens}::bigint,
                     'source', 'stripe', 'idempotency_key', ${key}::text, 'related_transaction_id', p.id)),
                 now(), true, (select l.id from public.token_lots l where l.transaction_id = p.id)), false) as r
               from public.token_transactions p,
                    lateral (select private.lock_balance(${user}::uuid), private.settle_user(${user}::uuid, now())) s
               where p.idempotency_key = ${purchaseKey}`
          : tx`select ref.transaction_result(ref.post_transaction(jsonb_populate_record(null::ref.token_transactions,
                   jsonb_build_object('user_id', ${user}::uuid, 'transaction_type', 'refund', 'token_amount', -${tokens}::bigint,
                     'source', 'stripe', 'idempotency_key', ${key}::text, 'related_transaction_id', p.id)),
                 now(), true, (select l.id from ref.token_lots l where l.transaction_id = p.id)), false) as r
               from ref.token_transactions p,
                    lateral (select ref.lock_balance(${user}::uuid), ref.settle_user(${user}::uuid, now())) s
               where p.idempotency_key = ${purchaseKey}`,
      ),
    subscribe: (id: string, plan: string) =>
      pub
        ? tx`insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
             values (${id}::uuid, ${user}::uuid, ${plan}, 'active', now() - interval '1 minute') returning next_drip_at`
        : tx`insert into ref.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
             values (${id}::uuid, ${user}::uuid, ${plan}, 'active', now() - interval '1 minute') returning next_drip_at`,
    setStatus: (id: string, status: string) =>
      pub
        ? tx`update public.customer_subscriptions set status = ${status} where id = ${id}::uuid returning next_drip_at`
        : tx`update ref.customer_subscriptions set status = ${status} where id = ${id}::uuid returning next_drip_at`,
    // The sweeps cover every user of their world, and the live world holds other tests' users
    // too: only what they did to this user is compared (the state), not their counts.
    runDueDrips: () =>
      (pub ? tx`select public.run_due_drips(now(), 100000)` : tx`select ref.run_due_drips(now(), 100000)`).then(() => null),
    expireTokens: () => (pub ? tx`select public.expire_tokens(now())` : tx`select ref.expire_tokens(now())`).then(() => null),
    expireHolds: () => (pub ? tx`select public.expire_holds(now())` : tx`select ref.expire_holds(now())`).then(() => null),
  };
}

// ---- what both worlds must agree on ---------------------------------------------------------

async function observe(tx: Sql, w: World, user: string) {
  const s = w === "public" ? "public" : "ref";
  const snapshot = w === "public"
    ? await one(tx`select public.get_token_balance(${user}::uuid) as r`)
    // next_drip_at came after the reference's commit: the same rule over the reference's subscriptions.
    : await one(tx`select ref.balance_snapshot(${user}::uuid, now()) || jsonb_build_object('next_drip_at',
                     (select min(c.next_drip_at) from ref.customer_subscriptions c
                       where c.user_id = ${user}::uuid and c.status in ('active', 'trialing'))) as r`);
  const rows = await tx.unsafe(
    `select jsonb_build_object(
       'balance', (select jsonb_build_object('balance', b.balance, 'debt', b.debt) from ${s}.token_balances b where b.user_id = $1),
       'transactions', (select jsonb_agg(jsonb_build_array(t.transaction_type, t.token_amount, t.balance_before, t.balance_after,
                          t.expires_at, t.source, t.metadata - 'lot_id') order by t.created_at, t.transaction_type, t.balance_before, t.token_amount)
                        from ${s}.token_transactions t where t.user_id = $1),
       'usage', (select jsonb_agg(jsonb_build_array(u.tokens, u.balance_before, u.balance_after, u.overage_tokens, u.hold_id is not null,
                   u.idempotency_key like 'hold:%') order by u.created_at, u.balance_before, u.tokens)
                 from ${s}.token_usage u where u.user_id = $1),
       'drips', (select jsonb_agg(jsonb_build_array(d.cycle_number, d.drip_amount, d.rollover_from_previous, d.rollover_cycles_count,
                   d.expired_tokens, d.balance_before, d.balance_after, d.billing_period_start, d.billing_period_end)
                   order by d.created_at, d.cycle_number) from ${s}.token_drips d where d.user_id = $1),
       'holds', (select jsonb_agg(jsonb_build_array(h.idempotency_key, h.status, h.tokens_held, h.tokens_used, h.tokens_released,
                   h.available_after, h.expires_at) order by h.created_at, h.idempotency_key) from ${s}.token_holds h where h.user_id = $1),
       'subscriptions', (select jsonb_agg(jsonb_build_array(c.status, c.next_cycle_number, c.next_drip_at) order by c.id)
                         from ${s}.customer_subscriptions c where c.user_id = $1)
     ) as r`,
    [user],
  );
  return { snapshot, state: rows[0].r };
}

// A clock advance: every stored time of the user's state moves back by `hours`.
async function advance(tx: Sql, w: World, user: string, hours: number) {
  const s = w === "public" ? "public" : "ref";
  const d = `${hours} hours`;
  // The user's lock first, as every writer of the user's state takes it.
  await tx.unsafe(`select 1 from ${s}.token_balances where user_id = $1 for update`, [user]);
  await tx.unsafe(
    `update ${s}.token_lots set expires_at = expires_at - $2::interval, created_at = created_at - $2::interval where user_id = $1`,
    [user, d],
  );
  await tx.unsafe(
    `update ${s}.token_holds set expires_at = expires_at - $2::interval, created_at = created_at - $2::interval where user_id = $1`,
    [user, d],
  );
  await tx.unsafe(
    `update ${s}.customer_subscriptions set drip_anchor = drip_anchor - $2::interval, next_drip_at = next_drip_at - $2::interval
     where user_id = $1`,
    [user, d],
  );
}

// ---- one sequence -----------------------------------------------------------------------------

type Hold = { key: string; ids: Record<World, string> };
const CRON_JOBS = ["token-drips", "token-expiry", "token-holds"];

async function sequence(sql: Sql, seed: number, steps: number) {
  const r = rng(seed);
  const user = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${user}::uuid, ${"diff-" + user + "@example.test"})`;
  const tag = `diff-${seed}-${user.slice(0, 8)}`;
  const usageKeys: { key: string; tokens: number }[] = [];
  const purchases: string[] = [];
  const holds: Hold[] = [];
  const subs: string[] = [];
  const canceled = new Set<string>(); // final: the schedule trigger refuses any other status after it
  const log: string[] = [];

  for (let step = 0; step < steps; step++) {
    const key = `${tag}-${step}`;
    const roll = r.next();
    let label = "";
    let run: (o: ReturnType<typeof ops>, w: World, tx: Sql) => Promise<unknown>;
    if (roll < 0.12) {
      const amount = r.pick([50, 200, 1000, 5000]);
      const type = r.pick(["admin_grant", "trial_grant", "subscription_grant"]);
      const hours = r.chance(0.6) ? 1 + r.int(72) : null;
      label = `grant ${amount} ${type} expires ${hours}h`;
      run = (o) => o.grant(amount, type, hours, key);
    } else if (roll < 0.17) {
      label = "purchase";
      purchases.push(key);
      run = (o) => o.purchase(key);
    } else if (roll < 0.42) {
      let k = key;
      let tokens = r.pick([1, 7, 40, 150, 600, 2500]);
      if (usageKeys.length && r.chance(0.15)) {
        const prior = r.pick(usageKeys);
        k = prior.key;
        tokens = r.chance(0.7) ? prior.tokens : prior.tokens + 1; // a replay, or a reused key (PT409)
      } else usageKeys.push({ key: k, tokens });
      label = `usage ${tokens} key ${k}`;
      run = (o) => o.usage(tokens, k);
    } else if (roll < 0.47) {
      const amount = r.pick([10, 300, 2000]);
      label = `deduction ${amount}`;
      run = (o) => o.grant(amount, "admin_deduction", null, key);
    } else if (roll < 0.50 && purchases.length) {
      const p = r.pick(purchases);
      const tokens = r.pick([100, 700, 1400]);
      label = `refund ${tokens} of ${p}`;
      run = (o) => o.refund(p, tokens, `${key}-refund`);
    } else if (roll < 0.60) {
      const tokens = r.pick([5, 60, 300, 1500]);
      const ttl = r.pick([60, 3600, 4 * 3600, 86400]);
      label = `reserve ${tokens} ttl ${ttl}`;
      const h: Hold = { key, ids: { public: "", ref: "" } };
      holds.push(h);
      run = async (o, w) => {
        const res = (await o.reserve(tokens, ttl, key)) as { hold_id: string };
        h.ids[w] = res.hold_id;
        return res;
      };
    } else if (roll < 0.70 && holds.some((h) => h.ids.public)) {
      const h = r.pick(holds.filter((x) => x.ids.public && x.ids.ref));
      const used = r.pick([0, 3, 50, 299, 300, 700, 5000]);
      label = `settle ${h.key} with ${used}`;
      run = (o, w) => o.settle(h.ids[w], used);
    } else if (roll < 0.74 && holds.some((h) => h.ids.public)) {
      const h = r.pick(holds.filter((x) => x.ids.public && x.ids.ref));
      label = `release ${h.key}`;
      run = (o, w) => o.release(h.ids[w]);
    } else if (roll < 0.78) {
      if (subs.length < 2 && r.chance(0.7)) {
        const id = crypto.randomUUID();
        const plan = r.pick(["diff_roll1", "diff_roll2_cap", "diff_roll0"]);
        subs.push(id);
        label = `subscribe ${plan}`;
        run = (o) => o.subscribe(id, plan);
      } else if (subs.some((s) => !canceled.has(s))) {
        const id = r.pick(subs.filter((s) => !canceled.has(s)));
        const status = r.pick(["active", "active", "past_due", "canceled", "trialing"]);
        if (status === "canceled") canceled.add(id);
        label = `subscription ${id.slice(0, 8)} ${status}`;
        run = (o) => o.setStatus(id, status);
      } else continue;
    } else if (roll < 0.90) {
      const hours = r.pick([1, 2, 5, 12, 24, 30, 49]);
      label = `advance ${hours}h`;
      run = async (_o, w, tx) => {
        await advance(tx, w, user, hours);
        return null;
      };
    } else if (roll < 0.94) {
      label = "run_due_drips";
      run = (o) => o.runDueDrips();
    } else if (roll < 0.97) {
      label = "expire_tokens";
      run = (o) => o.expireTokens();
    } else {
      label = "expire_holds";
      run = (o) => o.expireHolds();
    }
    log.push(`${step}: ${label}`);

    const [pubOut, refOut, pubSeen, refSeen, bad] = await sql.begin(async (tx0) => {
      const tx = tx0 as unknown as Sql;
      const p = await attempt(tx, (sp) => run(ops(sp, "public", user), "public", sp));
      const q = await attempt(tx, (sp) => run(ops(sp, "ref", user), "ref", sp));
      const ps = await observe(tx, "public", user);
      const rs = await observe(tx, "ref", user);
      const v = await tx`select * from public.verify_token_ledger(${user}::uuid)`;
      return [p, q, ps, rs, Array.from(v)];
    }) as unknown as [Outcome, Outcome, unknown, unknown, unknown[]];

    const where = `seed ${seed}, step ${step} (${label})\n  steps: ${log.join("; ")}\n  replay: DIFF_SEED=${seed} DIFF_SEQUENCES=1`;
    assert.deepEqual(pubOut, refOut, `result differs from the eager reference at ${where}`);
    assert.deepEqual(pubSeen, refSeen, `state differs from the eager reference at ${where}`);
    assert.deepEqual(bad, [], `verify_token_ledger() is not empty at ${where}`);
  }
}

Deno.test(`differential: ${SEQUENCES} random sequences of ${STEPS} steps agree with the eager reference`, async () => {
  const sql = connect(1);
  const here = new URL("./differential/", import.meta.url);
  try {
    await sql.unsafe(`
      drop schema if exists ref cascade;
      create schema ref;
      create table ref.token_balances (like public.token_balances including all);
      create table ref.token_transactions (like public.token_transactions including all);
      -- the frozen reference predates entry_seq (the statement order) and inserts whole rows
      alter table ref.token_transactions alter column entry_seq drop not null;
      create table ref.token_lots (like public.token_lots including all);
      create table ref.token_usage (like public.token_usage including all);
      create table ref.token_drips (like public.token_drips including all);
      create table ref.token_holds (like public.token_holds including all);
      create table ref.customer_subscriptions (like public.customer_subscriptions including all);
      insert into public.token_packs (id, tokens) values ('diff_pack', 700) on conflict (id) do nothing;
      insert into public.subscription_plans (id, drip_tokens, drip_interval, max_rollover_cycles, max_rollover_tokens) values
        ('diff_roll1', 500, interval '1 day', 1, null),
        ('diff_roll2_cap', 800, interval '20 hours', 2, 900),
        ('diff_roll0', 300, interval '2 days', 0, null)
      on conflict (id) do nothing;`);
    await sql.unsafe(await Deno.readTextFile(new URL("eager_reference.pgsql", here)));
    await sql.unsafe(`create trigger customer_subscriptions_schedule
      before insert or update of user_id, plan_id, status, drip_anchor on ref.customer_subscriptions
      for each row execute function ref.subscription_schedule()`);

    // pg_cron's ledger jobs would sweep and drip the live world between steps, at times the
    // reference never sees: they pause while the test runs.
    await sql`select cron.alter_job(j.jobid, active := false) from cron.job j where j.jobname = any(${CRON_JOBS})`;
    for (let i = 0; i < SEQUENCES; i++) await sequence(sql, BASE_SEED + i, STEPS);
  } finally {
    await sql`select cron.alter_job(j.jobid, active := true) from cron.job j where j.jobname = any(${CRON_JOBS})`;
    await sql`drop schema if exists ref cascade`; // the schema-drift check runs on this database later
    // Their shifted subscriptions would keep the other tests' global sweeps busy.
    await sql`delete from auth.users where email like 'diff-%@example.test'`;
    await sql.end();
  }
});
