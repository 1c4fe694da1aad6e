// A newcomer's first hour, as the README's quickstart runs it against a fresh stack: the seed's
// demo user is the buyer the Stripe fixtures name, so the checkout fixture sent as it is buys
// a pack for them, which they see through supabase-js; and `npm run demo:stream` (the holds
// pattern with a fake model) runs one turn to its settle. Here against the test run's API.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { api, client } from "./_api.ts";
import { connect, testDbUrl } from "./_helpers.ts";
import { fixture, postEvent } from "./_stripe.ts";
import { ensureUser, userToken } from "../../../scripts/local/token.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const webhookSecret = Deno.env.get("TEST_STRIPE_WEBHOOK_SECRET") ?? "whsec_local_token_ledger_0123456789abcdef";
const demo = "00000000-0000-4000-a000-0000000000f1";

Deno.test("the checkout fixture, sent as it is, buys a pack for the seed's demo user, who sees it", async () => {
  const res = await postEvent(`${api.url}/functions/v1/stripe-webhook`, fixture("checkout_session_completed_payment"), {
    secret: webhookSecret,
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  // Another test of this run may have sent the same fixture first: then this is its redelivery.
  assert.ok(["processed", "duplicate"].includes(body.status), body.status);
  assert.equal(body.result.user_id, demo, "the fixture's client_reference_id is the seed's demo user");

  const sql = connect(1);
  try {
    const user = await ensureUser(sql, "demo@example.test");
    assert.equal(user.id, demo);
    const me = client(await userToken(user, { secret: api.jwtSecret, apiUrl: api.url }));
    const { data } = await me.from("token_transactions").select("transaction_type, token_amount, pack_id")
      .eq("stripe_checkout_session_id", "cs_test_pack_small_1");
    assert.deepEqual(data, [{ transaction_type: "purchase", token_amount: 100000, pack_id: "pack_small" }]);
  } finally {
    await sql.end();
  }
});

Deno.test("npm run demo:stream runs one turn to its settle, and --fail-after 0 releases the hold", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", "--allow-net", "--quiet", "scripts/demo-stream.ts", ...args],
      cwd: root,
      env: { DB_URL: testDbUrl, SUPABASE_URL: api.url, SUPABASE_ANON_KEY: api.anonKey, JWT_SECRET: api.jwtSecret },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
    return text;
  };
  const ok = await run("--words", "6");
  assert.match(ok, /signed in as demo@example\.test/);
  assert.match(ok, /\ntokens flow through the ledger tokens\n/, "the six words, as they streamed");
  assert.match(ok, /settled: \d+ tokens used, \d+ of the hold released, overage 0/);
  assert.match(ok, /"status":"settled"/);
  const broken = await run("--fail-after", "0");
  assert.match(broken, /the stream failed: fake model: the stream broke after 0 words/);
  assert.match(broken, /"status":"released"/);
});
