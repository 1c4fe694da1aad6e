// get_token_balance_at against the ledger as it really was, over real connections (TEST_DB_URL).
//
// One user goes through a history with every kind of change, one committed request at a time,
// as the service sends them (grants that expire, a Stripe purchase and its refund, holds
// settled within and beyond what was free, usage, a drip, a void, a sweep of lapsed lots).
// After each request the test records what get_token_balance said and the database clock.
// Afterwards, get_token_balance_at at each recorded moment, computed by replaying the ledger,
// must give exactly what was recorded then: balance, debt, held and every live lot; and the
// statement's balance chain must pass through the same balances.
import assert from "node:assert/strict";
import { actAsService, connect, type Sql } from "./_helpers.ts";

type Lot = { source: string; remaining: number; expires_at: string | null };
type State = { balance: number; debt: number; held: number; lots: Lot[] };

async function asService<T>(sql: Sql, call: (tx: Sql) => Promise<T>): Promise<T> {
  return await sql.begin(async (tx) => {
    await actAsService(tx as unknown as Sql);
    return await call(tx as unknown as Sql);
  }) as T;
}

function normalize(s: State): State {
  return {
    balance: Number(s.balance),
    debt: Number(s.debt),
    held: Number(s.held),
    lots: s.lots.map((l) => ({ source: l.source, remaining: Number(l.remaining), expires_at: l.expires_at })),
  };
}

Deno.test("balance at a moment: every recorded moment of a varied history replays exactly", async () => {
  const sql = connect(4);
  try {
    const user = crypto.randomUUID();
    const pi = `pi_replay_${user.slice(0, 8)}`;
    await sql`insert into auth.users (id, email) values (${user}::uuid, ${`${user}@replay.test`})`;
    const plan = `replay-${user.slice(0, 8)}`;
    await sql`insert into public.subscription_plans (id, drip_tokens, drip_interval, max_rollover_cycles)
              values (${plan}, 5000, interval '28 days', 1)`;

    const moments: { at: string; state: State; step: string }[] = [];
    const record = async (step: string) => {
      const [row] =
        await sql`select public.get_token_balance(${user}::uuid) as b, clock_timestamp()::text as at`;
      moments.push({ at: row.at, state: normalize(row.b as State), step });
    };
    const key = (s: string) => `replay:${user}:${s}`;
    await record("nothing yet");

    const steps: [string, (tx: Sql) => Promise<unknown>][] = [
      ["grant", (tx) => tx`select public.grant_tokens(${user}::uuid, 3000, 'admin_grant', ${key("g1")})`],
      [
        "trial",
        (tx) =>
          tx`select public.grant_tokens(${user}::uuid, 800, 'trial_grant', ${
            key("g2")
          }, null, now() + interval '1 day')`,
      ],
      [
        "purchase",
        (tx) =>
          tx`select public.record_purchase(${user}::uuid, 'pack_small', ${key("p1")}, 500, 'usd',
                                p_stripe_payment_intent_id => ${pi})`,
      ],
      ["usage", (tx) => tx`select public.record_usage('chat', 1000, ${key("u1")}, ${user}::uuid)`],
      ["reserve", (tx) => tx`select public.reserve_tokens('chat', 700, ${key("r1")}, ${user}::uuid)`],
      [
        "settle within",
        (tx) =>
          tx`select public.settle_hold((select id from public.token_holds where idempotency_key = ${
            key("r1")
          }), 400)`,
      ],
      [
        "usage 2",
        (tx) => tx`select public.record_usage('vision_generation', 50000, ${key("u2")}, ${user}::uuid)`,
      ],
      ["refund", (tx) =>
        tx`select public.handle_stripe_event(${
          JSON.stringify({
            id: `evt_replay_${user.slice(0, 8)}`,
          object: "event",
            type: "charge.refunded",
            created: 1768608000,
            data: {
              object: {
                id: `ch_replay_${user.slice(0, 8)}`,
                object: "charge",
                amount: 500,
                amount_refunded: 500,
                payment_intent: pi,
                metadata: {},
              },
            },
          })
        }::text::jsonb)`],
      [
        "grant repays debt",
        (tx) => tx`select public.grant_tokens(${user}::uuid, 50000, 'admin_grant', ${key("g3")})`,
      ],
      [
        "subscription",
        (tx) =>
          tx`insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor)
                                    values (${user}::uuid, ${plan}, 'active', now())`,
      ],
      [
        "drip",
        (tx) =>
          tx`select public.run_drip((select id from public.customer_subscriptions where user_id = ${user}::uuid), now())`,
      ],
      [
        "grant to void",
        (tx) =>
          tx`select public.grant_tokens(${user}::uuid, 1500, 'admin_grant', ${
            key("g4")
          }, null, now() + interval '12 hours')`,
      ],
      ["usage 3", (tx) => tx`select public.record_usage('chat', 600, ${key("u3")}, ${user}::uuid)`],
      [
        "void",
        (tx) =>
          tx`select public.void_grant((select id from public.token_transactions where idempotency_key = ${
            key("g4")
          }),
                            'replay test', ${key("v1")})`,
      ],
      [
        "grant to expire",
        (tx) =>
          tx`select public.grant_tokens(${user}::uuid, 300, 'trial_grant', ${
            key("g6")
          }, null, now() + interval '1 day')`,
      ],
      ["reserve 2", (tx) => tx`select public.reserve_tokens('chat', 100, ${key("r2")}, ${user}::uuid)`],
      ["sweep", (tx) => tx`select public.expire_tokens(now() + interval '2 days')`],
      [
        "settle beyond",
        (tx) =>
          tx`select public.settle_hold((select id from public.token_holds where idempotency_key = ${
            key("r2")
          }), 1000000)`,
      ],
      [
        "grant at the end",
        (tx) => tx`select public.grant_tokens(${user}::uuid, 10000000, 'admin_grant', ${key("g5")})`,
      ],
    ];
    for (const [step, call] of steps) {
      await asService(sql, call);
      await record(step);
    }
    assert.ok(moments.some((m) => m.state.debt > 0), "the history goes into debt");
    assert.ok(moments.some((m) => m.state.held > 0), "the history holds tokens");

    for (const m of moments) {
      const [row] = await sql`select public.get_token_balance_at(${m.at}::timestamptz, ${user}::uuid) as s`;
      const got = normalize(row.s as State);
      assert.deepEqual(got, m.state, `after "${m.step}" (${m.at})`);
    }

    // The statement passes through the same balances, in the same order.
    const [st] = await sql`select public.get_token_statement(${user}::uuid, p_limit => 1000) as s`;
    const types = new Set((st.s.entries as { type: string }[]).map((e) => e.type));
    for (const t of ["purchase", "refund", "void", "expiration", "drip", "usage", "trial_grant"]) {
      assert.ok(types.has(t), t);
    }
    const chain = (st.s.entries as { balance_after: number }[]).map((e) => Number(e.balance_after)).reverse();
    const recorded = moments.map((m) => m.state.balance).filter((b, i, all) => i === 0 || b !== all[i - 1])
      .slice(1);
    assert.deepEqual(chain.filter((b, i, all) => i === 0 || b !== all[i - 1]), recorded);
  } finally {
    await sql.end();
  }
});
