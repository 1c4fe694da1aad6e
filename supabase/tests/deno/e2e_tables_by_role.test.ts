// Every table the API exposes, read through supabase-js by each kind of caller: a user sees its
// own rows and never another user's (admins included: an admin's powers are RPCs, not table
// reads), anon sees only the active catalog, the service sees everything (docs/api.md#tables).
// Writes that docs/api.md does not list are refused (401 for anon, 403 otherwise) and write
// nothing. The list of tables is the catalog's: a new table without a row here fails the
// first test.
import assert from "node:assert/strict";
import { connect } from "./_helpers.ts";
import { type Cast, cast, footprint, key, outcome, type Role, roles } from "./_e2e.ts";

// Who reads what, per table.
//   own:     the signed-in user's own rows; anon refused; the service all
//   catalog: anyone the active rows; the service all rows
//   service: the service only
const tables: Record<string, "own" | "catalog" | "service"> = {
  token_balances: "own",
  token_lots: "own",
  token_transactions: "own",
  token_usage: "own",
  token_drips: "own",
  token_holds: "own",
  customer_subscriptions: "own",
  stripe_customers: "own",
  token_features: "catalog",
  token_packs: "catalog",
  subscription_plans: "catalog",
  token_alerts: "own",
  token_alert_preferences: "own",
  token_usage_corrections: "own",
  token_usage_archives: "own",
  stripe_events: "service",
  unattributed_payments: "service",
  stripe_subscriptions: "service",
  drip_failures: "service",
  ledger_settings: "service",
  ledger_reconciliation_runs: "service",
  signup_trial_failures: "service",
};

Deno.test("every table of the public schema has a row in this test's matrix", async () => {
  const sql = connect(1);
  try {
    const rows = await sql`
      select c.relname::text as name from pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
         and not c.relispartition
       order by 1`;
    assert.deepEqual(Object.keys(tables).sort(), rows.map((r) => r.name));
  } finally {
    await sql.end();
  }
});

/** Give each person of the cast a row in every per-user table. */
async function activity(c: Cast) {
  const service = c.as.service;
  const sql = connect(1);
  try {
    // Legacy usage rows that were purchases in truth (the product wrote some to token_usage):
    // the operator files each as a purchase, which writes token_usage_corrections.
    const ids = [c.user.id, c.other.id, c.admin.id];
    const legacy = await sql`
      insert into public.token_usage (user_id, feature, tokens, is_legacy, metadata)
      select u, 'chat', 100, true, '{"pack_id": "pack_small"}' from unnest(${ids}::uuid[]) u returning id`;
    const usageIds = legacy.map((r) => r.id);
    // A month's summary as archive_usage writes it (no tokens: the ledger's sums stay as they are).
    await sql`
      insert into public.token_usage_archives (user_id, period_start, period_end, usage_rows, legacy_rows, tokens, archived_table)
      select u, '2020-01-01', '2020-02-01', 0, 0, 0, 'usage_archive.e2e' from unnest(${ids}::uuid[]) u`;
    const plan = await service.rpc("correct_misfiled_usage", { p_transaction_type: "purchase", p_usage_ids: usageIds });
    assert.equal(plan.error, null);
    const applied = await service.rpc("correct_misfiled_usage", {
      p_transaction_type: "purchase",
      p_usage_ids: usageIds,
      p_apply: true,
      p_plan_hash: plan.data.plan_hash,
    });
    assert.equal(applied.error, null);
  } finally {
    await sql.end();
  }
  for (const p of [c.user, c.other, c.admin]) {
    const ok = (res: { error: unknown }) => assert.equal(res.error, null);
    // A threshold of one's own just below the balance: the first spend crosses it (an alert).
    ok(await p.client.rpc("set_low_balance_threshold", { p_threshold: 999 }));
    ok(
      await p.client.rpc("record_usage", { p_feature: "chat", p_tokens: 3, p_idempotency_key: key("t-use") }),
    );
    ok(
      await p.client.rpc("reserve_tokens", {
        p_feature: "chat",
        p_tokens: 4,
        p_idempotency_key: key("t-hold"),
      }),
    );
    const sub = await service.from("customer_subscriptions")
      .insert({ user_id: p.id, plan_id: "default", status: "active", drip_anchor: new Date().toISOString() })
      .select("id").single();
    ok(sub);
    ok(await service.rpc("run_drip", { p_subscription_id: sub.data!.id }));
    ok(
      await service.from("stripe_customers").insert({ stripe_customer_id: `cus_${key("t")}`, user_id: p.id }),
    );
  }
}

Deno.test("per-user tables: each user reads only its own rows, anon none, the service everyone's", async () => {
  const c = await cast(1000);
  await activity(c);
  const ids = [c.user.id, c.other.id, c.admin.id];
  const who: Record<Role, string[] | null> = {
    anon: null,
    user: [c.user.id],
    other: [c.other.id],
    admin: [c.admin.id],
    service: [...ids].sort(),
  };
  for (const [table, kind] of Object.entries(tables)) {
    if (kind !== "own") continue;
    for (const role of roles) {
      // Asking for all three users' rows: RLS answers with what the caller may see.
      const res = await c.as[role].from(table).select("user_id").in("user_id", ids);
      if (who[role] === null) {
        assert.equal(outcome(res), "401 42501", `${table} as ${role}`);
        continue;
      }
      assert.equal(res.error, null, `${table} as ${role}: ${res.error?.message}`);
      const seen = [...new Set(res.data!.map((r) => r.user_id as string))].sort();
      assert.deepEqual(seen, who[role], `${table} as ${role}`);
    }
  }
  // Asking by another user's id directly finds nothing, and filtering cannot widen it.
  const peek = await c.user.client.from("token_transactions").select("id").eq("user_id", c.other.id);
  assert.deepEqual([peek.error, peek.data], [null, []]);
  const or = await c.user.client.from("token_balances").select("user_id").or(
    `user_id.eq.${c.other.id},balance.gte.0`,
  );
  assert.deepEqual(or.data?.map((r) => r.user_id), [c.user.id]);
});

Deno.test("partitions of token_usage: no API role reads one directly (they go through token_usage and its RLS)", async () => {
  const sql = connect(1);
  try {
    const partitions = await sql`
      select c.relname::text as name from pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relispartition and c.relkind in ('r', 'p') order by 1`;
    assert.ok(partitions.length > 0, "token_usage is partitioned");
    const c = await cast(0);
    for (const { name } of partitions) {
      const got = Object.fromEntries(
        await Promise.all(roles.map(async (r) => [r, outcome(await c.as[r].from(name).select("user_id").limit(1))])),
      );
      assert.deepEqual(
        got,
        { anon: "401 42501", user: "403 42501", other: "403 42501", admin: "403 42501", service: "403 42501" },
        name,
      );
    }
  } finally {
    await sql.end();
  }
});

Deno.test("catalogs: anyone reads the active rows, only the service sees the inactive ones", async () => {
  const c = await cast(0);
  const id = key("inactive").replaceAll("-", "_").slice(0, 60);
  const service = c.as.service;
  assert.equal(
    (await service.from("token_packs").insert({ id, name: "retired", tokens: 5, active: false })).error,
    null,
  );
  assert.equal(
    (await service.from("subscription_plans").insert({ id, name: "retired", active: false })).error,
    null,
  );
  assert.equal((await service.from("token_features").insert({ id, active: false })).error, null);
  for (const table of ["token_packs", "subscription_plans", "token_features"]) {
    for (const role of roles) {
      const res = await c.as[role].from(table).select("id, active");
      assert.equal(res.error, null, `${table} as ${role}`);
      const rows = res.data as { id: string; active: boolean }[];
      assert.ok(rows.length > 0, `${table} as ${role}: the active rows`);
      const hidden = !rows.some((r) => r.id === id);
      assert.equal(
        hidden,
        role !== "service",
        `${table} as ${role}: the inactive row ${hidden ? "hidden" : "shown"}`,
      );
      if (role !== "service") assert.ok(rows.every((r) => r.active), `${table} as ${role}: only active rows`);
    }
  }
});

Deno.test("service-only tables (Stripe's, the settings, reconciliation runs, drip failures): the service reads them, nobody else", async () => {
  const c = await cast(0);
  for (const [table, kind] of Object.entries(tables)) {
    if (kind !== "service") continue;
    const got = Object.fromEntries(
      await Promise.all(roles.map(async (r) => [r, outcome(await c.as[r].from(table).select("*").limit(1))])),
    );
    assert.deepEqual(got, {
      anon: "401 42501",
      user: "403 42501",
      other: "403 42501",
      admin: "403 42501",
      service: "200 -",
    }, table);
  }
});

Deno.test("writes: nobody writes the ledger tables directly, not even the service; only the service writes subscriptions", async () => {
  const sql = connect(1);
  try {
    const c = await cast(1000);
    const before = await footprint(sql, c.user.id);
    const [{ id: txId }] = await sql`select id from public.token_transactions where user_id = ${c.user.id}`;
    const writes: Record<
      string,
      (r: Role) => PromiseLike<{ status: number; error: { code?: string } | null }>
    > = {
      "update token_balances": (r) =>
        c.as[r].from("token_balances").update({ balance: 10 ** 9 }).eq("user_id", c.user.id),
      "insert token_transactions": (r) =>
        c.as[r].from("token_transactions").insert({
          user_id: c.user.id,
          transaction_type: "admin_grant",
          token_amount: 10 ** 9,
          balance_before: 0,
          balance_after: 10 ** 9,
          idempotency_key: key("direct"),
        }),
      "delete token_transactions": (r) => c.as[r].from("token_transactions").delete().eq("id", txId),
      "update token_lots": (r) =>
        c.as[r].from("token_lots").update({ remaining: 0 }).eq("user_id", c.user.id),
      "insert token_usage": (r) =>
        c.as[r].from("token_usage").insert({ user_id: c.user.id, feature: "chat", tokens: -5 }),
      "insert token_holds": (r) =>
        c.as[r].from("token_holds").insert({
          user_id: c.user.id,
          feature: "chat",
          tokens_held: 1,
          idempotency_key: key("direct-hold"),
          request_hash: "x",
          expires_at: new Date(Date.now() + 60_000).toISOString(),
          available_after: 0,
        }),
    };
    for (const [what, write] of Object.entries(writes)) {
      const got = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, outcome(await write(r))])));
      assert.deepEqual(
        got,
        {
          anon: "401 42501",
          user: "403 42501",
          other: "403 42501",
          admin: "403 42501",
          service: "403 42501",
        },
        what,
      );
    }
    assert.deepEqual(await footprint(sql, c.user.id), before, "nothing was written");

    // Subscriptions: users may not add one (a free drip), the service may.
    const sub = (r: Role) =>
      c.as[r].from("customer_subscriptions").insert({
        user_id: c.user.id,
        plan_id: "default",
        status: "active",
      });
    const got = Object.fromEntries(await Promise.all(roles.map(async (r) => [r, (await sub(r)).status])));
    assert.deepEqual(got, { anon: 401, user: 403, other: 403, admin: 403, service: 201 });
  } finally {
    await sql.end();
  }
});
