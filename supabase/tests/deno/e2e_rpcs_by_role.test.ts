// Every public RPC through the API, as each kind of caller makes the call with supabase-js:
// anon (the anon key alone), a user, another user, an admin, and the service key. Each call
// aims at one user's tokens (`user`); the HTTP status and `error.code` are what docs/api.md
// promises for that caller, and a refused call writes nothing for anyone in the cast.
//
// The list of RPCs is the catalog's: an RPC added to `public` without a row here fails the
// first test, so that it cannot reach the API untested.
import assert from "node:assert/strict";
import { connect } from "./_helpers.ts";
import { type Cast, cast, footprint, key, outcome, type Role, roles } from "./_e2e.ts";
import { paidPackSession, stripeEvent } from "./_stripe.ts";

type Args = Record<string, unknown>;
type Case = {
  /** Fresh arguments for one call by `role` (a new key, a new hold, ...). */
  args: (c: Cast, role: Role) => Args | Promise<Args>;
  /** What each caller gets: "200 -" or "<status> <code>". */
  expect: Record<Role, string>;
};

const OK = "200 -";
const ANON = "401 42501";
const DENIED = "403 42501";
const serviceOnly = { anon: ANON, user: DENIED, other: DENIED, admin: DENIED, service: OK };
// For oneself or, as the service, for anyone (record_usage, reserve_tokens).
const ownOrService = { anon: ANON, user: OK, other: DENIED, admin: DENIED, service: OK };
// For oneself; admins and the service for anyone (get_token_balance and the like).
const readOwnAdminService = { anon: ANON, user: OK, other: DENIED, admin: OK, service: OK };

async function holdOf(c: Cast): Promise<Args> {
  const { data, error } = await c.as.service.rpc("reserve_tokens", {
    p_feature: "chat",
    p_tokens: 10,
    p_idempotency_key: key("hold"),
    p_user_id: c.user.id,
  });
  assert.equal(error, null);
  return { p_hold_id: data.hold_id };
}

/** A low-balance alert of the user: its own threshold above what it keeps after one spend. */
async function alertOf(c: Cast): Promise<string> {
  const ok = (res: { error: unknown }) => assert.equal(res.error, null);
  const { data: balance } = await c.as.user.rpc("get_token_balance", {});
  ok(await c.as.user.rpc("set_low_balance_threshold", { p_threshold: balance.available }));
  ok(await c.as.user.rpc("record_usage", { p_feature: "chat", p_tokens: 1, p_idempotency_key: key("alert") }));
  const { data, error } = await c.as.user.from("token_alerts").select("id").order("created_at", { ascending: false })
    .limit(1).single();
  assert.equal(error, null);
  return data!.id;
}

/** A paid pack checkout that names no user: kept in unattributed_payments. */
async function unattributedSession(c: Cast): Promise<string> {
  const session = `cs_e2e_${crypto.randomUUID().replaceAll("-", "")}`;
  const { data, error } = await c.as.service.rpc("handle_stripe_event", {
    p_event: stripeEvent("checkout.session.completed", paidPackSession(session, null)),
  });
  assert.equal(error, null);
  assert.equal(data.status, "unattributed");
  return session;
}

const cases: Record<string, Case> = {
  record_usage: {
    args: (c) => ({ p_feature: "chat", p_tokens: 1, p_idempotency_key: key("use"), p_user_id: c.user.id }),
    expect: ownOrService,
  },
  reserve_tokens: {
    args: (c) => ({
      p_feature: "chat",
      p_tokens: 1,
      p_idempotency_key: key("reserve"),
      p_user_id: c.user.id,
    }),
    expect: ownOrService,
  },
  settle_hold: {
    args: async (c) => ({ ...(await holdOf(c)), p_tokens_used: 5 }),
    expect: { anon: ANON, user: OK, other: DENIED, admin: DENIED, service: OK },
  },
  release_hold: {
    args: (c) => holdOf(c),
    expect: { anon: ANON, user: OK, other: DENIED, admin: DENIED, service: OK },
  },
  get_token_balance: {
    args: (c) => ({ p_user_id: c.user.id }),
    expect: readOwnAdminService,
  },
  grant_tokens: {
    args: (c) => ({
      p_user_id: c.user.id,
      p_amount: 7,
      p_type: "admin_grant",
      p_idempotency_key: key("grant"),
    }),
    expect: { anon: ANON, user: DENIED, other: DENIED, admin: OK, service: OK },
  },
  record_purchase: {
    args: (c) => ({
      p_user_id: c.user.id,
      p_pack_id: "pack_small",
      p_idempotency_key: key("purchase"),
      p_amount_cents: 500,
      p_currency: "usd",
    }),
    expect: serviceOnly,
  },
  expire_holds: { args: () => ({}), expect: serviceOnly },
  expire_tokens: { args: () => ({}), expect: serviceOnly },
  run_due_drips: { args: () => ({ p_limit: 100 }), expect: serviceOnly },
  run_drip: {
    args: async (c) => {
      // A comped subscription, added the way an operator adds one (the service writes the table).
      const { data, error } = await c.as.service.from("customer_subscriptions")
        .insert({
          user_id: c.user.id,
          plan_id: "default",
          status: "active",
          drip_anchor: new Date().toISOString(),
        })
        .select("id").single();
      assert.equal(error, null);
      return { p_subscription_id: data!.id };
    },
    expect: serviceOnly,
  },
  handle_stripe_event: {
    // A type the ledger does not handle: recorded as ignored.
    args: () => ({ p_event: stripeEvent("customer.created", { id: "cus_e2e", object: "customer" }) }),
    expect: serviceOnly,
  },
  attribute_payment: {
    args: async (c) => ({ p_stripe_checkout_session_id: await unattributedSession(c), p_user_id: c.user.id }),
    expect: serviceOnly,
  },
  verify_token_ledger: { args: (c) => ({ p_user_id: c.user.id }), expect: serviceOnly },
  // History and operations (docs/api.md; the operator CLI, docs/operations.md).
  get_token_statement: { args: (c) => ({ p_user_id: c.user.id, p_limit: 5 }), expect: readOwnAdminService },
  get_token_balance_at: {
    args: (c) => ({ p_at: new Date().toISOString(), p_user_id: c.user.id }),
    expect: readOwnAdminService,
  },
  void_grant: {
    args: async (c) => {
      const { data, error } = await c.as.service.rpc("grant_tokens", {
        p_user_id: c.user.id,
        p_amount: 5,
        p_type: "admin_grant",
        p_idempotency_key: key("to-void"),
      });
      assert.equal(error, null);
      return { p_transaction_id: data.transaction_id, p_reason: "e2e", p_idempotency_key: key("void") };
    },
    expect: { anon: ANON, user: DENIED, other: DENIED, admin: OK, service: OK },
  },
  get_low_balance_threshold: { args: (c) => ({ p_user_id: c.user.id }), expect: readOwnAdminService },
  set_low_balance_threshold: {
    args: (c) => ({ p_threshold: 5000, p_user_id: c.user.id }),
    expect: readOwnAdminService,
  },
  // The drain of the outbox: the oldest undelivered alert (anyone's) is leased for a second.
  claim_token_alerts: { args: () => ({ p_limit: 1, p_lease_seconds: 1 }), expect: serviceOnly },
  mark_token_alerts_delivered: {
    args: async (c) => ({ p_alert_ids: [await alertOf(c)] }),
    expect: serviceOnly,
  },
  reconcile_token_ledger: { args: (c) => ({ p_user_id: c.user.id }), expect: serviceOnly },
  run_ledger_reconciliation: { args: () => ({}), expect: serviceOnly },
  correct_misfiled_usage: {
    // A dry run that selects nothing: no legacy usage has this feature.
    args: () => ({ p_transaction_type: "purchase", p_feature: "e2e_no_such_feature" }),
    expect: serviceOnly,
  },
  find_ledger_users: { args: (c) => ({ p_query: c.user.id }), expect: serviceOnly },
  get_ledger_jobs: { args: () => ({}), expect: serviceOnly },
  // Partitions of token_usage (docs/scaling.md): both are no-ops here (the months exist; none is old enough).
  create_usage_partitions: { args: () => ({}), expect: serviceOnly },
  archive_usage: { args: () => ({ p_before: "2001-01-01T00:00:00Z" }), expect: serviceOnly },
  // Trials are off in the test database (the default), so the service's call is the documented
  // 22023; the granting path: e2e_signup_trial.test.ts.
  retry_signup_trial: {
    args: (c) => ({ p_user_id: c.user.id }),
    expect: { ...serviceOnly, service: "400 22023" },
  },
  update_ledger_settings: {
    // Set to what it is: the test changes nothing other tests rely on.
    args: async (c) => {
      const { data, error } = await c.as.service.from("ledger_settings").select("low_balance_threshold").single();
      assert.equal(error, null);
      return { p_changes: { low_balance_threshold: data!.low_balance_threshold } };
    },
    expect: serviceOnly,
  },
};

Deno.test("every public RPC has a row in this test's matrix", async () => {
  const sql = connect(1);
  try {
    const rows = await sql`
      select distinct p.proname::text as name from pg_proc p
       where p.pronamespace = 'public'::regnamespace and p.prokind = 'f'
         and p.prorettype <> 'trigger'::regtype
       order by 1`;
    assert.deepEqual(Object.keys(cases).sort(), rows.map((r) => r.name));
  } finally {
    await sql.end();
  }
});

for (const [rpc, c] of Object.entries(cases)) {
  Deno.test(`${rpc}: ${roles.map((r) => `${r} ${c.expect[r].replace(" -", "")}`).join(", ")}`, async () => {
    const sql = connect(1);
    try {
      const world = await cast();
      const got: Record<string, string> = {};
      for (const role of roles) {
        const args = await c.args(world, role);
        const before = await footprint(sql, world.user.id, world.other.id, world.admin.id);
        const res = await world.as[role].rpc(rpc, args);
        got[role] = outcome(res);
        if (res.error) {
          assert.deepEqual(
            await footprint(sql, world.user.id, world.other.id, world.admin.id),
            before,
            `${rpc} refused for ${role} but wrote`,
          );
          assert.ok(res.error.message, "the error has a message");
        }
      }
      assert.deepEqual(got, c.expect);
    } finally {
      await sql.end();
    }
  });
}
