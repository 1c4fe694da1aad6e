// Sign-up trials through the API, as an operator and a new user meet them: the service turns
// trials on with update_ledger_settings, a user signs up (the row Supabase Auth inserts) and
// sees the trial through supabase-js, the operator's retry replays it, bad settings are 400,
// and once trials are off again a sign-up gets nothing. (The failure path, which never fails a
// sign-up: pgTAP, supabase/tests/database/signup_trial.)
import assert from "node:assert/strict";
import { serviceClient, signUp } from "./_api.ts";
import { outcome } from "./_e2e.ts";

Deno.test("sign-up trials: turned on by the operator, seen by the new user, off again", async () => {
  const service = serviceClient();
  const { data: before, error } = await service.from("ledger_settings").select("trial_tokens, trial_lifetime").single();
  assert.equal(error, null);
  assert.equal(before!.trial_tokens, 0, "off in the test database, as the migrations and the seed leave it");
  try {
    const on = await service.rpc("update_ledger_settings", { p_changes: { trial_tokens: 25000, trial_lifetime: "3 days" } });
    assert.equal(on.error, null);

    const alice = await signUp();
    const { data: rows } = await alice.client.from("token_transactions")
      .select("transaction_type, token_amount, idempotency_key, source, expires_at, created_at");
    assert.equal(rows!.length, 1);
    const trial = rows![0];
    assert.deepEqual(
      [trial.transaction_type, trial.token_amount, trial.idempotency_key, trial.source],
      ["trial_grant", 25000, `signup:${alice.id}`, "signup"],
    );
    assert.equal(Date.parse(trial.expires_at!) - Date.parse(trial.created_at), 3 * 86_400_000, "it lasts 3 days");
    const { data: balance } = await alice.client.rpc("get_token_balance");
    assert.deepEqual([balance.available, Date.parse(balance.next_expiry)], [25000, Date.parse(trial.expires_at!)]);

    // The operator's retry finds it; users may neither retry nor read the failures.
    const retry = await service.rpc("retry_signup_trial", { p_user_id: alice.id });
    assert.deepEqual([outcome(retry), retry.data.replayed, retry.data.token_amount], ["200 -", true, 25000]);
    assert.equal(outcome(await alice.client.rpc("retry_signup_trial", { p_user_id: alice.id })), "403 42501");
    assert.equal(outcome(await alice.client.from("signup_trial_failures").select("*")), "403 42501");
    assert.equal(outcome(await service.from("signup_trial_failures").select("*").eq("user_id", alice.id)), "200 -");

    // Settings the trial cannot have: 400, and nothing changes.
    const bad = await service.rpc("update_ledger_settings", { p_changes: { trial_lifetime: "1 month" } });
    assert.equal(outcome(bad), "400 22023");
    const { data: now } = await service.from("ledger_settings").select("trial_tokens, trial_lifetime").single();
    assert.deepEqual(now, { trial_tokens: 25000, trial_lifetime: "3 days" });
  } finally {
    const off = await service.rpc("update_ledger_settings", {
      p_changes: { trial_tokens: before!.trial_tokens, trial_lifetime: before!.trial_lifetime },
    });
    assert.equal(off.error, null);
  }
  const bob = await signUp();
  const { data: none } = await bob.client.from("token_transactions").select("id");
  assert.deepEqual(none, [], "trials off: a sign-up gets nothing");
  assert.equal(outcome(await service.rpc("retry_signup_trial", { p_user_id: bob.id })), "400 22023");
});
