// Statements, balances at a moment, alerts and voids as clients reach them: supabase-js through
// the test API (gateway and PostgREST), with a user's token, an admin's and the service key.
// Each RPC's roles are covered in pgTAP; this checks the HTTP side: PostgREST's routing of the
// RPCs, their statuses (42501 403 or 401, 22023 400) and RLS on the new tables.
import assert from "node:assert/strict";
import { client, serviceClient, signUp } from "./_api.ts";
import { connect } from "./_helpers.ts";

async function grant(userId: string, amount: number) {
  const { error } = await serviceClient().rpc("grant_tokens", {
    p_user_id: userId,
    p_amount: amount,
    p_type: "admin_grant",
    p_idempotency_key: `ops-api:${crypto.randomUUID()}`,
  });
  assert.equal(error, null);
}

Deno.test("api: a user pages through their own statement and reads their balance at a moment", async () => {
  const user = await signUp();
  await grant(user.id, 1000);
  for (let i = 0; i < 3; i++) {
    const { error } = await user.client.rpc("record_usage", {
      p_feature: "chat",
      p_tokens: 10,
      p_idempotency_key: `ops-api:${i}`,
    });
    assert.equal(error, null);
  }
  const first = await user.client.rpc("get_token_statement", { p_limit: 2 });
  assert.equal(first.status, 200);
  assert.deepEqual(first.data.entries.map((e: { tokens: number }) => e.tokens), [-10, -10]);
  const second = await user.client.rpc("get_token_statement", {
    p_limit: 2,
    p_cursor: first.data.next_cursor,
  });
  assert.deepEqual(second.data.entries.map((e: { tokens: number }) => e.tokens), [-10, 1000]);
  assert.equal(second.data.next_cursor, null);

  const at = await user.client.rpc("get_token_balance_at", {
    p_at: new Date(Date.now() + 1000).toISOString(),
  });
  assert.equal(at.status, 200);
  assert.equal(at.data.balance, 970);

  const other = await signUp();
  const denied = await other.client.rpc("get_token_statement", { p_user_id: user.id });
  assert.equal(denied.status, 403);
  assert.equal(denied.error?.code, "42501");
  const anon = await client().rpc("get_token_statement", {});
  assert.equal(anon.status, 401);
  const bad = await user.client.rpc("get_token_statement", { p_cursor: "nope" });
  assert.equal(bad.status, 400);
  assert.equal(bad.error?.code, "22023");
});

Deno.test("api: a user sets a threshold, the crossing usage alerts, and only they read the alert", async () => {
  const user = await signUp();
  await grant(user.id, 600);
  const outside = await user.client.rpc("set_low_balance_threshold", { p_threshold: -1 });
  assert.equal(outside.status, 400);
  const set = await user.client.rpc("set_low_balance_threshold", { p_threshold: 500 });
  assert.equal(set.status, 200);
  assert.equal(set.data.threshold, 500);
  await user.client.rpc("record_usage", {
    p_feature: "chat",
    p_tokens: 200,
    p_idempotency_key: "ops-api-alert",
  });

  const mine = await user.client.from("token_alerts").select("available_before, available_after, entry_kind");
  assert.equal(mine.status, 200);
  assert.deepEqual(mine.data, [{ available_before: 600, available_after: 400, entry_kind: "usage" }]);
  const other = await signUp();
  const theirs = await other.client.from("token_alerts").select("id").eq("user_id", user.id);
  assert.deepEqual(theirs.data, []);
  const write = await user.client.from("token_alerts").update({ delivered_at: new Date().toISOString() }).eq(
    "user_id",
    user.id,
  );
  assert.ok(write.error, "a user cannot mark an alert delivered");

  // The service drains: claim, then mark delivered.
  const service = serviceClient();
  const sql = connect(1);
  try {
    const [{ id }] = await sql`select id from public.token_alerts where user_id = ${user.id}::uuid`;
    let claimed: { id: string }[] = [];
    for (let i = 0; i < 20 && !claimed.some((a) => a.id === id); i++) {
      const { data, error } = await service.rpc("claim_token_alerts", { p_limit: 1000, p_lease_seconds: 60 });
      assert.equal(error, null);
      claimed = [...claimed, ...data];
    }
    assert.ok(claimed.some((a) => a.id === id));
    const marked = await service.rpc("mark_token_alerts_delivered", {
      p_alert_ids: claimed.map((a) => a.id),
    });
    assert.equal(marked.status, 200);
    const [row] = await sql`select delivered_at from public.token_alerts where id = ${id}::uuid`;
    assert.ok(row.delivered_at);
  } finally {
    await sql.end();
  }
});

Deno.test("api: an admin voids a grant, a user may not; the service reconciles", async () => {
  const user = await signUp();
  await grant(user.id, 300);
  const sql = connect(1);
  try {
    const [tx] = await sql`select id from public.token_transactions where user_id = ${user.id}::uuid`;
    const args = { p_transaction_id: tx.id, p_reason: "test", p_idempotency_key: `ops-api-void:${user.id}` };
    const refused = await user.client.rpc("void_grant", args);
    assert.equal(refused.status, 403);
    const admin = await signUp({ admin: true });
    const voided = await admin.client.rpc("void_grant", args);
    assert.equal(voided.status, 200);
    assert.equal(voided.data.tokens_voided, 300);
    const report = await serviceClient().rpc("reconcile_token_ledger", { p_user_id: user.id });
    assert.equal(report.status, 200);
    assert.deepEqual(report.data[0].problems, []);
    const byUser = await user.client.rpc("reconcile_token_ledger", { p_user_id: user.id });
    assert.equal(byUser.status, 403);
  } finally {
    await sql.end();
  }
});
