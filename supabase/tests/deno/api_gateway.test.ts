// The local API as clients reach it, through the gateway (smoke tests of the platform; the
// end-to-end suite covers every RPC): Supabase's gateway wants an apikey; PostgREST turns the
// ledger's SQLSTATEs into the HTTP statuses docs/api.md promises; functions check the caller's
// JWT unless config.toml says `verify_jwt = false`.
import assert from "node:assert/strict";
import { api, client, serviceClient, signUp } from "./_api.ts";

const rpc = (name: string, headers: Record<string, string>) =>
  fetch(`${api.url}/rest/v1/rpc/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: "{}",
  });

Deno.test("without an apikey, or with one that is not the anon or service key, the gateway answers 401", async () => {
  const user = await signUp();
  const none = await rpc("get_token_balance", { authorization: `Bearer ${user.token}` });
  assert.equal(none.status, 401);
  assert.equal((await none.json()).message, "No API key found in request");
  const wrong = await rpc("get_token_balance", { apikey: user.token });
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).message, "Invalid API key");
  // The key may also come as a query parameter; it then reaches PostgREST (as the user here).
  const query = await fetch(`${api.url}/rest/v1/rpc/get_token_balance?apikey=${api.anonKey}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
    body: "{}",
  });
  assert.equal(query.status, 200);
  assert.equal((await query.json()).user_id, user.id);
});

Deno.test("the anon key alone reaches PostgREST as anon, which may call no RPC: 42501 is 401", async () => {
  const { data, error, status } = await client().rpc("get_token_balance");
  assert.equal(data, null);
  assert.equal(error?.code, "42501");
  assert.equal(status, 401);
});

Deno.test("a user's token calls get_token_balance for that user", async () => {
  const user = await signUp();
  const { data, error, status } = await user.client.rpc("get_token_balance");
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data.user_id, user.id);
  assert.equal(data.balance, 0);
});

Deno.test("the ledger's errors have their HTTP statuses: PT402 402, 22023 400, PT409 409, 42501 403", async () => {
  const user = await signUp();
  const grant = await serviceClient().rpc("grant_tokens", {
    p_user_id: user.id,
    p_amount: 100,
    p_type: "admin_grant",
    p_idempotency_key: `smoke-grant-${user.id}`,
  });
  assert.equal(grant.error, null);
  const use = (tokens: number, key: string) =>
    user.client.rpc("record_usage", { p_feature: "chat", p_tokens: tokens, p_idempotency_key: key });

  const short = await use(1000, "smoke-1");
  assert.deepEqual([short.status, short.error?.code], [402, "PT402"]);
  const bad = await use(-1, "smoke-2");
  assert.deepEqual([bad.status, bad.error?.code], [400, "22023"]);
  const first = await use(10, "smoke-3");
  assert.deepEqual([first.status, first.error], [200, null]);
  const reused = await use(20, "smoke-3");
  assert.deepEqual([reused.status, reused.error?.code], [409, "PT409"]);
  const notAdmin = await user.client.rpc("grant_tokens", {
    p_user_id: user.id,
    p_amount: 5,
    p_type: "admin_grant",
    p_idempotency_key: `smoke-self-${user.id}`,
  });
  assert.deepEqual([notAdmin.status, notAdmin.error?.code], [403, "42501"]);

  // Only the one good call wrote anything.
  const { data } = await user.client.rpc("get_token_balance");
  assert.equal(data.balance, 90);
});

Deno.test("functions: health and the Stripe webhook are open (verify_jwt = false); any other wants a valid JWT", async () => {
  const health = await fetch(`${api.url}/functions/v1/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  // The webhook's own check (the Stripe signature) answers, not the gateway.
  const webhook = await fetch(`${api.url}/functions/v1/stripe-webhook`, { method: "POST", body: "{}" });
  assert.notEqual(webhook.status, 401);
  await webhook.body?.cancel();

  // A function without a [functions.<name>] section verifies the JWT, as on Supabase.
  const other = `${api.url}/functions/v1/no-such-function`;
  const missing = await fetch(other);
  assert.equal(missing.status, 401);
  await missing.body?.cancel();
  const forged = await fetch(other, { headers: { authorization: `Bearer ${api.anonKey}x` } });
  assert.equal(forged.status, 401);
  await forged.body?.cancel();
  const signed = await fetch(other, { headers: { authorization: `Bearer ${api.anonKey}` } });
  assert.equal(signed.status, 404, "past the JWT check, the functions server answers (no such function)");
  await signed.body?.cancel();
});
