// `npm run stripe:send` sends any fixture for any user without editing JSON: --user names the
// user, --now moves the event's times to now, --fresh gives every Stripe object a new id (one
// new id per old id across the fixtures of one command). Checked on the events it prepares, and
// as an operator uses it: a purchase for a new user through the test API's gateway, seen by the
// user through supabase-js.
import assert from "node:assert/strict";
import { prepareEvent } from "../../../scripts/stripe-send.ts";
import { api, signUp } from "./_api.ts";
import { fixture } from "./_stripe.ts";

const event = (name: string) => JSON.parse(fixture(name));

Deno.test("--user names the user in client_reference_id and in every metadata.user_id", () => {
  const user = crypto.randomUUID();
  const checkout = prepareEvent(event("checkout_session_completed_payment"), { user });
  assert.equal(checkout.data.object.client_reference_id, user);
  const invoice = prepareEvent(event("invoice_paid_subscription_create"), { user });
  const named = JSON.stringify(invoice).match(/"user_id":"[^"]*"/g) ?? [];
  assert.ok(named.length > 0);
  assert.deepEqual([...new Set(named)], [`"user_id":"${user}"`]);
});

Deno.test("--now moves every time by the same amount: created is now, periods keep their length", () => {
  const before = event("customer_subscription_created");
  const now = Math.floor(Date.now() / 1000);
  const after = prepareEvent(before, { now });
  assert.equal(after.created, now);
  const shift = now - before.created;
  assert.equal(after.data.object.start_date, before.data.object.start_date + shift);
  const item = (e: typeof before) => e.data.object.items.data[0];
  assert.equal(
    item(after).current_period_end - item(after).current_period_start,
    item(before).current_period_end - item(before).current_period_start,
  );
  assert.equal(
    after.data.object.items.data[0].price.unit_amount,
    before.data.object.items.data[0].price.unit_amount,
  );
});

Deno.test("--fresh renames object ids consistently across events and keeps price and product ids", () => {
  const ids = new Map<string, string>();
  const created = event("customer_subscription_created");
  const paid = event("invoice_paid_subscription_create");
  const a = prepareEvent(created, { freshIds: ids });
  const b = prepareEvent(paid, { freshIds: ids });
  assert.notEqual(a.id, created.id);
  assert.notEqual(a.data.object.id, created.data.object.id);
  assert.equal(
    JSON.stringify(b).includes(a.data.object.id),
    true,
    "the invoice names the renamed subscription",
  );
  assert.equal(a.data.object.customer, b.data.object.customer);
  assert.equal(JSON.stringify(a).includes("price_sub_monthly"), true);
  const leftovers = (JSON.stringify(a).match(/"[a-z]+_test_[A-Za-z0-9_]*"/g) ?? []).filter((id) =>
    !id.startsWith('"prod_')
  );
  assert.deepEqual(leftovers, [], "every object id but products' is new");
});

Deno.test("a fixture sent with --user --now --fresh makes a purchase the user sees, every time", async () => {
  const user = await signUp();
  const send = () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-env",
        "--allow-net",
        "--quiet",
        "scripts/stripe-send.ts",
        "--url",
        `${api.url}/functions/v1/stripe-webhook`,
        "--user",
        user.id,
        "--now",
        "--fresh",
        "checkout_session_completed_payment",
      ],
      cwd: new URL("../../../", import.meta.url),
      env: {
        STRIPE_WEBHOOK_SECRET: Deno.env.get("TEST_STRIPE_WEBHOOK_SECRET") ??
          "whsec_local_token_ledger_0123456789abcdef",
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
  for (const expected of [100000, 200000]) {
    const out = await send();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
    assert.match(text, /-> 200\n.*"status":"processed"/);
    const { data, error } = await user.client.rpc("get_token_balance");
    assert.equal(error, null);
    assert.equal(data.balance, expected);
  }
});

// A stack started with `STRIPE_WEBHOOK_SECRET=... npm start` serves the function with that
// secret and writes it to .local-stack/env; stripe:send without the variable must sign with it
// (it signed with the default and got 400). Run from a throw-away checkout (links to scripts/,
// node_modules/ and deno.json) whose .local-stack/env names another secret, posting to a
// receiver here that verifies the signature as the function does.
Deno.test("stripe:send signs with the running stack's secret from .local-stack/env", async () => {
  const root = new URL("../../../", import.meta.url).pathname;
  const tmp = await Deno.makeTempDir({ prefix: "stripe-send-" });
  const secret = "whsec_stripe_send_test_other_secret";
  const { default: Stripe } = await import("stripe");
  const stripe = new Stripe("sk_test_unused");
  let verified = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.text();
    try {
      await stripe.webhooks.constructEventAsync(body, req.headers.get("stripe-signature") ?? "", secret);
      verified++;
      return Response.json({ status: "verified" });
    } catch {
      return Response.json({ error: "invalid_signature" }, { status: 400 });
    }
  });
  try {
    for (const name of ["scripts", "node_modules", "deno.json", "supabase"]) {
      await Deno.symlink(`${root}${name}`, `${tmp}/${name}`);
    }
    await Deno.mkdir(`${tmp}/.local-stack`);
    await Deno.writeTextFile(
      `${tmp}/.local-stack/env`,
      `API_URL='http://127.0.0.1:1'\nSTRIPE_WEBHOOK_SECRET='${secret}'\n`,
    );
    const env = { ...Deno.env.toObject() };
    delete env.STRIPE_WEBHOOK_SECRET;
    const out = await new Deno.Command("bash", {
      args: ["scripts/stripe-send.sh", "--url", `http://127.0.0.1:${server.addr.port}/`, "customer_created"],
      cwd: tmp,
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /-> 200/);
    assert.equal(verified, 1, text);
  } finally {
    await server.shutdown();
    await Deno.remove(tmp, { recursive: true });
  }
});
