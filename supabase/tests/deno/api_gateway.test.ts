// The local API as clients reach it, through the gateway (smoke tests of the platform; the
// end-to-end suite covers every RPC): Supabase's gateway wants an apikey; PostgREST turns the
// ledger's SQLSTATEs into the HTTP statuses docs/api.md promises; functions check the caller's
// JWT unless config.toml says `verify_jwt = false`. The gateway's own rules are also checked in
// process, against stand-in upstreams that echo what they receive.
import assert from "node:assert/strict";
import { createGateway } from "../../../scripts/local/gateway.ts";
import { signJwt } from "../../../scripts/local/jwt.ts";
import { api, client, serviceClient, signUp } from "./_api.ts";

// The hosted gateway and ours refuse a request without an apikey; `supabase start`'s Kong
// (CLI 2.117) does not, so these checks run against our gateway only.
const ourGateway = Deno.env.get("TEST_API_GATEWAY") === "local";

const rpc = (name: string, headers: Record<string, string>) =>
  fetch(`${api.url}/rest/v1/rpc/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: "{}",
  });

Deno.test({
  name: "without an apikey, or with one that is not the anon or service key, the gateway answers 401",
  ignore: !ourGateway,
}, async () => {
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

Deno.test("functions: health and the Stripe webhook are open (verify_jwt = false); an unknown one is 404", async () => {
  const health = await fetch(`${api.url}/functions/v1/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  // The webhook's own check (the Stripe signature) answers, not the gateway.
  const webhook = await fetch(`${api.url}/functions/v1/stripe-webhook`, { method: "POST", body: "{}" });
  assert.notEqual(webhook.status, 401);
  await webhook.body?.cancel();
  const unknown = await fetch(`${api.url}/functions/v1/no-such-function`);
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
});

/** Our gateway in this process, in front of one upstream that echoes the request it got. */
async function withGateway(run: (url: string) => Promise<void>) {
  const echo = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) =>
    Response.json({
      url: req.url,
      authorization: req.headers.get("authorization"),
      apikey: req.headers.get("apikey"),
    }));
  const upstream = `http://127.0.0.1:${echo.addr.port}`;
  const handler = createGateway({
    apiKeys: [api.anonKey, api.serviceRoleKey],
    jwtSecret: api.jwtSecret,
    restUrl: upstream,
    functionsUrl: upstream,
    config: { functions: { open: { verify_jwt: false }, closed: {} } },
    functionExists: (name) => ["open", "closed", "unlisted"].includes(name),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await run(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
    await echo.shutdown();
  }
}

async function call(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.json() };
}

Deno.test("the gateway: a function without `verify_jwt = false` wants a valid JWT; with one it passes", async () => {
  await withGateway(async (gw) => {
    for (const name of ["closed", "unlisted"]) {
      assert.equal((await call(`${gw}/functions/v1/${name}`)).status, 401, `${name} without a JWT`);
      const forged = await signJwt({ role: "anon" }, "not-the-local-secret-not-the-local-secret");
      assert.equal(
        (await call(`${gw}/functions/v1/${name}`, { authorization: `Bearer ${forged}` })).status,
        401,
      );
      const expired = await signJwt({ role: "anon", exp: Math.floor(Date.now() / 1000) - 1 }, api.jwtSecret);
      assert.equal(
        (await call(`${gw}/functions/v1/${name}`, { authorization: `Bearer ${expired}` })).status,
        401,
      );
      const ok = await call(`${gw}/functions/v1/${name}/x?y=1`, { authorization: `Bearer ${api.anonKey}` });
      assert.equal(ok.status, 200);
      assert.equal(
        new URL(ok.body.url).pathname + new URL(ok.body.url).search,
        `/functions/v1/${name}/x?y=1`,
      );
    }
    assert.equal((await call(`${gw}/functions/v1/open`)).status, 200, "verify_jwt = false needs none");
  });
});

Deno.test("the gateway: /rest/v1 takes the apikey from the header or the query, hides it, and bears it", async () => {
  await withGateway(async (gw) => {
    assert.equal((await call(`${gw}/rest/v1/rpc/f`)).status, 401);
    assert.equal((await call(`${gw}/rest/v1/rpc/f`, { apikey: "nope" })).status, 401);
    const header = await call(`${gw}/rest/v1/rpc/f?select=a`, { apikey: api.anonKey });
    assert.equal(header.status, 200);
    assert.deepEqual([new URL(header.body.url).pathname, new URL(header.body.url).search], [
      "/rpc/f",
      "?select=a",
    ]);
    assert.equal(header.body.apikey, null, "the key is not passed on");
    assert.equal(
      header.body.authorization,
      `Bearer ${api.anonKey}`,
      "without Authorization, the key is the bearer",
    );
    const query = await call(`${gw}/rest/v1/t?apikey=${api.serviceRoleKey}`, {
      authorization: "Bearer user-token",
    });
    assert.equal(query.status, 200);
    assert.equal(new URL(query.body.url).search, "", "the apikey parameter is not a filter for PostgREST");
    assert.equal(query.body.authorization, "Bearer user-token", "the caller's token is kept");
    assert.equal((await call(`${gw}/auth/v1/token`)).status, 404, "no route but the API's");
  });
});
