// The documented errors through HTTP, as supabase-js reports them: every case of bad input in
// docs/api.md and docs/holds.md gets its HTTP status and `error.code` (22023 400, PT402 402,
// PT409 409, 55000 500; 42501 is e2e_rpcs_by_role.test.ts), plus the errors PostgREST raises
// before a function runs (an unknown argument, a value of the wrong type). None of them writes
// anything. Then replays: the same request again answers 200 with the first result and writes
// nothing more.
import assert from "node:assert/strict";
import { connect } from "./_helpers.ts";
import { type Cast, cast, footprint, key, lapse, outcome, type Role } from "./_e2e.ts";

type Args = Record<string, unknown>;
type BadCall = { as: Role; rpc: string; args: (c: Cast) => Args | Promise<Args>; expect: string };

const BAD = "400 22023";
const inFuture = (ms: number) => new Date(Date.now() + ms).toISOString();

async function reserve(c: Cast, tokens = 100, as: Role = "user"): Promise<string> {
  const { data, error } = await c.as[as].rpc("reserve_tokens", {
    p_feature: "chat",
    p_tokens: tokens,
    p_idempotency_key: key("hold"),
    ...(as === "service" ? { p_user_id: c.user.id } : {}),
  });
  assert.equal(error, null);
  return data.hold_id;
}

const use = (over: Args = {}) => (_c?: Cast): Args => ({
  p_feature: "chat",
  p_tokens: 10,
  p_idempotency_key: key("use"),
  ...over,
});
const grant = (over: Args = {}) => (c: Cast): Args => ({
  p_user_id: c.user.id,
  p_amount: 10,
  p_type: "admin_grant",
  p_idempotency_key: key("grant"),
  ...over,
});
const purchase = (over: Args = {}) => (c: Cast): Args => ({
  p_user_id: c.user.id,
  p_pack_id: "pack_small",
  p_idempotency_key: key("purchase"),
  p_amount_cents: 500,
  p_currency: "usd",
  ...over,
});

/** A case: `as` calls `rpc` with `args` and gets `expect` (HTTP status and code, 400 22023 unless named). */
const call = (as: Role, rpc: string, args: BadCall["args"], expect = BAD): BadCall => ({ as, rpc, args, expect });

const badCalls: Record<string, BadCall> = {
  // record_usage
  "record_usage: 0 tokens": call("user", "record_usage", use({ p_tokens: 0 })),
  "record_usage: negative tokens": call("user", "record_usage", use({ p_tokens: -5 })),
  "record_usage: more than 10^15 tokens":
    call("user", "record_usage", use({ p_tokens: 1_000_000_000_000_001 })),
  "record_usage: no key": call("user", "record_usage", use({ p_idempotency_key: null })),
  "record_usage: a blank key": call("user", "record_usage", use({ p_idempotency_key: "  " })),
  "record_usage: a key of 256 characters":
    call("user", "record_usage", use({ p_idempotency_key: "k".repeat(256) })),
  "record_usage: a reserved key prefix":
    call("user", "record_usage", use({ p_idempotency_key: `checkout:${crypto.randomUUID()}` })),
  "record_usage: an unknown feature": call("user", "record_usage", use({ p_feature: "nope" })),
  "record_usage: a model of 201 characters": call("user", "record_usage", use({ p_model: "m".repeat(201) })),
  "record_usage: metadata that is not an object": call("user", "record_usage", use({ p_metadata: [1, 2] })),
  "record_usage: metadata over 16 KiB":
    call("user", "record_usage", use({ p_metadata: { k: "x".repeat(16_400) } })),
  "record_usage: the service without p_user_id": call("service", "record_usage", use()),
  "record_usage: the service naming an unknown user":
    call("service", "record_usage", use({ p_user_id: crypto.randomUUID() })),
  "record_usage: more than the balance":
    call("user", "record_usage", use({ p_tokens: 5_000_000 }), "402 PT402"),
  "record_usage: more than is available beside a hold": {
    as: "user",
    rpc: "record_usage",
    args: async (c) => {
      await reserve(c, 999_990);
      return use({ p_tokens: 11 })(c);
    },
    expect: "402 PT402",
  },
  // What PostgREST refuses before the function runs.
  "record_usage: tokens that are not a number (PostgREST)":
    call("user", "record_usage", use({ p_tokens: "ten" }), "400 22P02"),
  "record_usage: a fraction of a token (PostgREST)":
    call("user", "record_usage", use({ p_tokens: 1.5 }), "400 22P02"),
  "record_usage: an argument it does not take (PostgREST)":
    call("user", "record_usage", use({ p_nope: 1 }), "404 PGRST202"),
  "record_usage: a user id that is not a uuid (PostgREST)":
    call("service", "record_usage", use({ p_user_id: "alice" }), "400 22P02"),
  // reserve_tokens
  "reserve_tokens: a TTL of 0": call("user", "reserve_tokens", use({ p_ttl_seconds: 0 })),
  "reserve_tokens: a TTL over 24 hours": call("user", "reserve_tokens", use({ p_ttl_seconds: 86_401 })),
  "reserve_tokens: a reserved key prefix":
    call("user", "reserve_tokens", use({ p_idempotency_key: `hold:${crypto.randomUUID()}` })),
  "reserve_tokens: more than is available":
    call("user", "reserve_tokens", use({ p_tokens: 1_000_001 }), "402 PT402"),
  // settle_hold, release_hold
  "settle_hold: an unknown hold":
    call("user", "settle_hold", () => ({ p_hold_id: crypto.randomUUID(), p_tokens_used: 1 })),
  "settle_hold: negative tokens":
    call("user", "settle_hold", async (c) => ({ p_hold_id: await reserve(c), p_tokens_used: -1 })),
  "settle_hold: a released hold": {
    as: "user",
    rpc: "settle_hold",
    args: async (c) => {
      const hold = await reserve(c);
      assert.equal((await c.as.user.rpc("release_hold", { p_hold_id: hold })).error, null);
      return { p_hold_id: hold, p_tokens_used: 1 };
    },
    expect: BAD,
  },
  "settle_hold: a lapsed hold whose tokens were spent meanwhile": {
    as: "user",
    rpc: "settle_hold",
    args: async (c) => {
      const hold = await reserve(c, 100);
      await lapse(c.user.id, "token_holds"); // no waiting for the clock
      const spend = await c.as.user.rpc("record_usage", use({ p_tokens: 1_000_000 })(c));
      assert.equal(spend.error, null);
      return { p_hold_id: hold, p_tokens_used: 50 };
    },
    expect: "402 PT402",
  },
  "release_hold: an unknown hold": call("user", "release_hold", () => ({ p_hold_id: crypto.randomUUID() })),
  "release_hold: a settled hold": {
    as: "user",
    rpc: "release_hold",
    args: async (c) => {
      const hold = await reserve(c);
      assert.equal((await c.as.user.rpc("settle_hold", { p_hold_id: hold, p_tokens_used: 1 })).error, null);
      return { p_hold_id: hold };
    },
    expect: BAD,
  },
  // get_token_balance
  "get_token_balance: the service without p_user_id": call("service", "get_token_balance", () => ({})),
  // grant_tokens
  "grant_tokens: an unknown type": call("admin", "grant_tokens", grant({ p_type: "gift" })),
  "grant_tokens: 0 tokens": call("admin", "grant_tokens", grant({ p_amount: 0 })),
  "grant_tokens: an expiry in the past":
    call("service", "grant_tokens", grant({ p_expires_at: inFuture(-60_000) })),
  "grant_tokens: an infinite expiry": call("service", "grant_tokens", grant({ p_expires_at: "infinity" })),
  "grant_tokens: a source of 201 characters":
    call("service", "grant_tokens", grant({ p_source: "s".repeat(201) })),
  "grant_tokens: a reserved key prefix":
    call("service", "grant_tokens", grant({ p_idempotency_key: `signup:${crypto.randomUUID()}` })),
  "grant_tokens: an unknown user": call("service", "grant_tokens", grant({ p_user_id: crypto.randomUUID() })),
  "grant_tokens: a deduction larger than the balance":
    call("admin", "grant_tokens", grant({ p_type: "admin_deduction", p_amount: 1_000_001 }), "402 PT402"),
  // record_purchase
  "record_purchase: an unknown pack":
    call("service", "record_purchase", purchase({ p_pack_id: "pack_nope" })),
  "record_purchase: a currency of two letters":
    call("service", "record_purchase", purchase({ p_currency: "us" })),
  "record_purchase: a negative amount": call("service", "record_purchase", purchase({ p_amount_cents: -1 })),
  "record_purchase: a Stripe id over 255 characters":
    call("service", "record_purchase", purchase({ p_stripe_checkout_session_id: `cs_${"x".repeat(253)}` })),
  // scheduled work
  "run_drip: an unknown subscription":
    call("service", "run_drip", () => ({ p_subscription_id: crypto.randomUUID() })),
  "run_drip: an as-of more than 366 days away":
    call("service", "run_drip", () => ({ p_subscription_id: crypto.randomUUID(), p_as_of: inFuture(400 * 86_400_000) })),
  "run_due_drips: a limit of 0": call("service", "run_due_drips", () => ({ p_limit: 0 })),
  "expire_tokens: a null as-of": call("service", "expire_tokens", () => ({ p_as_of: null })),
  "expire_holds: an infinite as-of": call("service", "expire_holds", () => ({ p_as_of: "infinity" })),
  // Stripe
  "handle_stripe_event: not a Stripe event":
    call("service", "handle_stripe_event", () => ({ p_event: { id: "nope", type: "checkout.session.completed" } })),
  "handle_stripe_event: an event before its prerequisite (Stripe retries)": {
    as: "service",
    rpc: "handle_stripe_event",
    // A subscription of a customer not linked to any user yet, without metadata.user_id.
    args: () => ({
      p_event: {
        id: `evt_e2e_${crypto.randomUUID().replaceAll("-", "")}`,
        object: "event",
        type: "customer.subscription.created",
        created: Math.floor(Date.now() / 1000),
        data: {
          object: {
            id: `sub_e2e_${crypto.randomUUID().replaceAll("-", "")}`,
            object: "subscription",
            customer: `cus_e2e_${crypto.randomUUID().replaceAll("-", "")}`,
            status: "active",
            metadata: {},
            items: { object: "list", data: [{ price: { id: "price_sub_monthly" } }] },
          },
        },
      },
    }),
    expect: "500 55000",
  },
  "attribute_payment: a session that is not waiting":
    call("service", "attribute_payment", (c) => ({ p_stripe_checkout_session_id: "cs_e2e_unknown", p_user_id: c.user.id })),
};

Deno.test("every documented error through HTTP: its status and code, and nothing written", async (t) => {
  const sql = connect(1);
  try {
    for (const [name, call] of Object.entries(badCalls)) {
      await t.step(`${name}: ${call.expect}`, async () => {
        const c = await cast();
        const args = await call.args(c);
        const before = await footprint(sql, c.user.id, c.other.id, c.admin.id);
        const [{ n: eventsBefore }] = await sql`select count(*)::int as n from public.stripe_events`;
        const res = await c.as[call.as].rpc(call.rpc, args);
        assert.equal(outcome(res), call.expect, res.error?.message);
        assert.ok(res.error!.message.length > 0);
        assert.deepEqual(await footprint(sql, c.user.id, c.other.id, c.admin.id), before, "nothing written");
        const [{ n: eventsAfter }] = await sql`select count(*)::int as n from public.stripe_events`;
        assert.equal(eventsAfter, eventsBefore, "no Stripe event recorded");
      });
    }
  } finally {
    await sql.end();
  }
});

Deno.test("PT402 says what is available and what was asked, never below 0", async () => {
  const c = await cast(100);
  await reserve(c, 80);
  const res = await c.as.user.rpc("record_usage", use({ p_tokens: 50 })(c));
  assert.equal(outcome(res), "402 PT402");
  assert.equal(res.error!.details, "balance: 20, required: 50");
  assert.equal(res.error!.message, "Insufficient tokens.");
});

Deno.test("a key reused for another request is 409 PT409 and writes nothing, in every keyed RPC", async () => {
  const sql = connect(1);
  try {
    const c = await cast();
    const reused: [Role, string, Args, Args][] = [
      ["user", "record_usage", use()(c), { p_tokens: 11 }],
      ["user", "reserve_tokens", use()(c), { p_tokens: 11 }],
      ["admin", "grant_tokens", grant()(c), { p_amount: 11 }],
      ["service", "record_purchase", purchase()(c), { p_amount_cents: 999 }],
    ];
    for (const [as, rpc, first, change] of reused) {
      assert.equal((await c.as[as].rpc(rpc, first)).error, null, rpc);
      const before = await footprint(sql, c.user.id);
      const res = await c.as[as].rpc(rpc, { ...first, ...change });
      assert.equal(outcome(res), "409 PT409", rpc);
      assert.match(res.error!.details, /^key: /);
      assert.deepEqual(await footprint(sql, c.user.id), before, `${rpc}: nothing written`);
    }
  } finally {
    await sql.end();
  }
});

Deno.test("a replay answers 200 with the first result and writes nothing more", async () => {
  const sql = connect(1);
  try {
    const c = await cast();
    const hold = await reserve(c, 100);
    const hold2 = await reserve(c, 100);
    const replays: [Role, string, Args][] = [
      ["user", "record_usage", use()(c)],
      ["user", "reserve_tokens", use()(c)],
      ["admin", "grant_tokens", grant()(c)],
      ["service", "record_purchase", purchase()(c)],
      ["user", "settle_hold", { p_hold_id: hold, p_tokens_used: 40 }],
      ["user", "release_hold", { p_hold_id: hold2 }],
    ];
    for (const [as, rpc, args] of replays) {
      const first = await c.as[as].rpc(rpc, args);
      assert.equal(outcome(first), "200 -", rpc);
      const after = await footprint(sql, c.user.id);
      const again = await c.as[as].rpc(rpc, args);
      assert.equal(outcome(again), "200 -", rpc);
      assert.equal(again.data.replayed, true, `${rpc} says it replayed`);
      assert.deepEqual(
        { ...again.data, replayed: false },
        { ...first.data, replayed: false },
        `${rpc}: the first result`,
      );
      assert.deepEqual(await footprint(sql, c.user.id), after, `${rpc}: nothing more written`);
    }
  } finally {
    await sql.end();
  }
});
