// Every file of docs/examples runs against the test run's API (gateway, PostgREST, functions),
// as a reader would run it: the clients of client.ts with users signed in by token, the ledger
// calls of ledger.ts, the streaming pattern of docs/holds.md (streaming-chat.ts) with a fake
// model, the live balance of live-balance.ts (its reads; the local stack has no Realtime
// server), and checkout.ts against a stand-in for Stripe's API, followed by the events Stripe
// would send, signed, through /functions/v1/stripe-webhook, until the user sees the purchase
// and the subscription's drip through supabase-js.
import assert from "node:assert/strict";
import Stripe from "stripe";
import { appClient, serviceClient, userClient } from "../../../docs/examples/client.ts";
import {
  grantCampaignBonus,
  myBalance,
  myBalanceAt,
  myRecentUsage,
  myStatement,
  onLowBalance,
  recordChatUsage,
  setMyLowBalanceThreshold,
  voidGrant,
} from "../../../docs/examples/ledger.ts";
import { deliverOnce } from "../../../docs/examples/deliver-token-alerts.ts";
import { myActiveHolds, streamChat } from "../../../docs/examples/streaming-chat.ts";
import { availableFromRow, watchBalance } from "../../../docs/examples/live-balance.ts";
import { packCheckout, subscriptionCheckout } from "../../../docs/examples/checkout.ts";
import { fakeModel } from "../../../scripts/local/fake-model.ts";
import { api, signUp } from "./_api.ts";
import { connect } from "./_helpers.ts";
import { lapse } from "./_e2e.ts";
import { paidPackSession, signature, stripeEvent } from "./_stripe.ts";

// What the examples read from the environment, as an app would be configured.
Deno.env.set("SUPABASE_URL", api.url);
Deno.env.set("SUPABASE_ANON_KEY", api.anonKey);
Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", api.serviceRoleKey);
const webhookSecret = Deno.env.get("TEST_STRIPE_WEBHOOK_SECRET") ??
  "whsec_local_token_ledger_0123456789abcdef";

/** A new user with `tokens` from the service, and the example client acting as that user. */
async function user(tokens: number) {
  const u = await signUp();
  if (tokens > 0) {
    const { error } = await serviceClient().rpc("grant_tokens", {
      p_user_id: u.id,
      p_amount: tokens,
      p_type: "admin_grant",
      p_idempotency_key: `examples-${u.id}`,
    });
    assert.equal(error, null);
  }
  return { id: u.id, supabase: userClient(u.token) };
}

const exercised = new Set<string>();

Deno.test("client.ts: a user's client acts as the user, an app's client before sign-in as anon", async () => {
  exercised.add("client.ts");
  const alice = await user(100);
  assert.equal((await myBalance(alice.supabase)).user_id, alice.id);
  const { error, status } = await appClient().rpc("get_token_balance", {});
  assert.deepEqual([status, error?.code], [401, "42501"], "not signed in: anon, which may call no RPC");
});

Deno.test("ledger.ts: usage, the balance, a campaign bonus replayed on retry, the user's own usage", async () => {
  exercised.add("ledger.ts");
  const alice = await user(5000);
  const bob = await user(5000);
  const used = await recordChatUsage(alice.supabase, 1200, "m-1");
  assert.deepEqual([used?.tokens, used?.balance_after, used?.replayed], [1200, 3800, false]);
  assert.equal((await recordChatUsage(alice.supabase, 1200, "m-1"))?.replayed, true, "a retry replays");
  assert.equal(await recordChatUsage(alice.supabase, 10_000, "m-2"), null, "PT402: null, ask to top up");
  await recordChatUsage(bob.supabase, 7, "m-1"); // bob's key is his own

  const campaign = {
    id: `spring-${crypto.randomUUID()}`,
    tokens: 500,
    endsAt: new Date(Date.now() + 86_400_000).toISOString(),
  };
  const bonus = await grantCampaignBonus(serviceClient(), alice.id, campaign);
  assert.deepEqual([bonus.transaction_type, bonus.token_amount, bonus.replayed], ["admin_grant", 500, false]);
  assert.equal(
    (await grantCampaignBonus(serviceClient(), alice.id, campaign)).replayed,
    true,
    "a retry replays",
  );

  const balance = await myBalance(alice.supabase);
  assert.deepEqual([balance.balance, balance.available, Date.parse(balance.next_expiry!)], [
    4300,
    4300,
    Date.parse(campaign.endsAt),
  ]);
  const usage = await myRecentUsage(alice.supabase);
  assert.deepEqual(usage.map((u) => u.tokens), [1200], "only her own usage");
});

Deno.test("ledger.ts: the statement page by page, the balance at a moment, a threshold, a void", async () => {
  const alice = await user(1000);
  for (let i = 1; i <= 3; i++) await recordChatUsage(alice.supabase, 10 * i, `s-${i}`);
  const firstPage = await myStatement(alice.supabase);
  assert.deepEqual(firstPage.entries.map((e) => [e.kind, e.tokens, e.balance_after]), [
    ["usage", -30, 940],
    ["usage", -20, 970],
    ["usage", -10, 990],
    ["transaction", 1000, 1000],
  ]);
  assert.equal(firstPage.next_cursor, null, "one page holds it all");

  const before = await myBalanceAt(alice.supabase, new Date(Date.now() - 3600_000));
  assert.deepEqual([before.balance, before.last_entry], [0, null], "an hour ago she had nothing");
  const now = await myBalanceAt(alice.supabase, new Date(Date.now() + 1000));
  assert.deepEqual([now.balance, now.available], [940, 940]);

  const threshold = await setMyLowBalanceThreshold(alice.supabase, 900);
  assert.deepEqual([threshold.threshold, threshold.is_default], [900, false]);
  const notified: number[] = [];
  const channel = onLowBalance(alice.supabase, alice.id, (available) => notified.push(available));
  await recordChatUsage(alice.supabase, 100, "s-4"); // 940 -> 840: crosses 900
  const { data: alerts } = await alice.supabase.from("token_alerts").select("threshold, available_after");
  assert.deepEqual(alerts, [{ threshold: 900, available_after: 840 }], "the alert the channel would carry");
  await alice.supabase.removeChannel(channel); // no Realtime server locally: nothing arrives
  assert.deepEqual(notified, []);

  // An admin voids a grant: what it still holds leaves, a retry replays.
  const admin = await signUp({ admin: true });
  const grant = await grantCampaignBonus(serviceClient(), alice.id, {
    id: `void-${crypto.randomUUID()}`,
    tokens: 300,
    endsAt: new Date(Date.now() + 86_400_000).toISOString(),
  });
  const action = crypto.randomUUID();
  const voided = await voidGrant(userClient(admin.token), grant.transaction_id, "granted by mistake", action);
  assert.deepEqual([voided.transaction_type, voided.tokens_voided, voided.replayed], ["void", 300, false]);
  const again = await voidGrant(userClient(admin.token), grant.transaction_id, "granted by mistake", action);
  assert.equal(again.replayed, true);
  assert.equal((await myBalance(alice.supabase)).balance, 840);
});

Deno.test("deliver-token-alerts.ts: each alert reaches the receiver and is marked, a failed send is tried again", async () => {
  exercised.add("deliver-token-alerts.ts");
  const received: { user_id: string; threshold: number; available: number; at: string }[] = [];
  let refuse = true;
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json();
    if (refuse) return new Response("try later", { status: 503 });
    received.push(body);
    return new Response("ok");
  });
  const target = `http://127.0.0.1:${receiver.addr.port}/alerts`;
  const service = serviceClient();
  try {
    const alice = await user(1000);
    await setMyLowBalanceThreshold(alice.supabase, 999);
    await recordChatUsage(alice.supabase, 5, "d-1"); // crosses 999: one alert
    const mine = () => received.filter((r) => r.user_id === alice.id);
    // The receiver is down: nothing is marked, so the alert is handed out again later.
    const down = await deliverOnce(service, target, 1000);
    assert.equal(down.sent, 0);
    assert.ok(down.failed >= 1);
    const sql = connect(1);
    try {
      // Its lease (60 s) runs out: moved back, as time would, instead of waiting.
      await sql`update public.token_alerts set claimed_until = now() - interval '1 second'
                 where user_id = ${alice.id} and delivered_at is null`;
    } finally {
      await sql.end();
    }
    refuse = false;
    for (let round = 0; round < 20 && mine().length === 0; round++) {
      // Other tests' alerts come along too: drain until hers has gone.
      if ((await deliverOnce(service, target, 1000)).sent === 0) break;
    }
    assert.deepEqual(mine().map((r) => [r.threshold, r.available]), [[999, 995]]);
    const { data } = await alice.supabase.from("token_alerts").select("attempts, delivered_at");
    assert.equal(data!.length, 1);
    assert.ok(data![0].delivered_at !== null && data![0].attempts >= 2, "delivered on a later try");
  } finally {
    await receiver.shutdown();
  }
});

Deno.test("streaming-chat.ts: the docs/holds.md pattern with a fake model, each ending", async () => {
  exercised.add("streaming-chat.ts");
  const alice = await user(10_000);
  const messages = [{ role: "user" as const, content: "Explain holds in one paragraph." }];
  let shown = "";
  const turn = (id: string, model: Parameters<typeof fakeModel>[0] = {}, who = alice) =>
    streamChat(who.supabase, fakeModel(model), messages, id, (t) => (shown += t));

  // The stream ends and reports its usage: the usage is settled, the rest of the hold freed.
  const ok = await turn("t-1", { reply: "one two three", totalTokens: 321 });
  assert.ok(ok.ok);
  assert.deepEqual([ok.text, shown], ["one two three", "one two three"]);
  assert.deepEqual([ok.settle.tokens, ok.settle.overage_tokens, ok.settle.replayed], [321, 0, false]);
  assert.equal((await myBalance(alice.supabase)).available, 10_000 - 321);

  // The same turn again: its hold is settled, so it does not run twice.
  const again = await turn("t-1");
  assert.ok(!again.ok && again.reason === "failed");
  assert.equal((await myBalance(alice.supabase)).available, 10_000 - 321, "nothing spent twice");

  // The stream breaks before any text: the hold is released, nothing spent.
  const broken = await turn("t-2", { failAfterWords: 0 });
  assert.ok(!broken.ok && broken.reason === "failed");
  assert.equal((await myBalance(alice.supabase)).available, 10_000 - 321);

  // The stream breaks midway: what was shown is settled as an estimate.
  const midway = await turn("t-3", { reply: "a b c d e f g h", failAfterWords: 4 });
  assert.ok(!midway.ok && midway.reason === "failed");
  const { data: holds } = await alice.supabase.from("token_holds").select(
    "idempotency_key, status, tokens_used",
  )
    .order("created_at");
  assert.deepEqual(holds!.map((h) => [h.idempotency_key, h.status, h.tokens_used! > 0]), [
    ["chat:t-1", "settled", true],
    ["chat:t-2", "released", false],
    ["chat:t-3", "settled", true],
  ]);
  assert.deepEqual(await myActiveHolds(alice.supabase), [], "no hold left open");

  // Not enough tokens for the estimate: nothing is held, the caller learns what is available.
  const poor = await user(50);
  const refused = await turn("t-4", {}, poor);
  assert.deepEqual(refused, { ok: false, reason: "insufficient_tokens", available: 50 });
});

Deno.test("live-balance.ts: the row says what the user can spend while nothing falls due, else get_token_balance", async () => {
  exercised.add("live-balance.ts");
  const alice = await user(700);
  const soon = new Date(Date.now() + 3600_000).toISOString();
  const { error } = await serviceClient().rpc("grant_tokens", {
    p_user_id: alice.id,
    p_amount: 50,
    p_type: "admin_grant",
    p_idempotency_key: `live-${alice.id}`,
    p_expires_at: soon,
  });
  assert.equal(error, null);
  await alice.supabase.rpc("reserve_tokens", { p_feature: "chat", p_tokens: 200, p_idempotency_key: "live-1" });
  const row = async () => (await alice.supabase.from("token_balances").select("*").single()).data!;

  // Nothing falls due before the grant lapses: the row is exact, and agrees with the RPC.
  const seen: number[] = [];
  const watch = watchBalance(alice.supabase, alice.id, (a) => seen.push(a), () => {});
  try {
    const live = await watch.refresh();
    assert.deepEqual([live.balance, live.held, live.available], [750, 200, 550]);
    assert.deepEqual(seen, [550]);
    const now = await row();
    assert.ok(Date.parse(now.next_due_at) > Date.now() && Date.parse(now.next_due_at) <= Date.parse(soon));
    assert.equal(availableFromRow(now), 550);

    // Time passes the grant's expiry (moved back, as time would, with the row's due time): the
    // row still counts the lapsed lot until a sweep, so it no longer answers; the RPC does.
    await lapse(alice.id, "token_lots");
    const behind = await row();
    assert.equal(behind.balance, 750, "the row is behind: it still counts the lapsed 50");
    assert.equal(availableFromRow(behind), null);
    assert.equal((await watch.refresh()).available, 500);
  } finally {
    await watch.stop();
  }
});

// ---- checkout.ts, against a stand-in for Stripe's API ---------------------------------------

/** Stripe's API as far as Checkout Sessions go: records each request, answers a session. */
function fakeStripeApi(prices: Record<string, number>) {
  const sessions: Record<string, string>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST" || path !== "/v1/checkout/sessions") {
      return new Response("not found", { status: 404 });
    }
    const form = Object.fromEntries(new URLSearchParams(await req.text()));
    sessions.push(form);
    const id = `cs_test_${crypto.randomUUID().replaceAll("-", "")}`;
    return Response.json({
      id,
      object: "checkout.session",
      mode: form.mode,
      amount_total: prices[form["line_items[0][price]"]],
      url: `https://checkout.stripe.test/c/pay/${id}`,
    });
  });
  const stripe = new Stripe("sk_test_stand_in", {
    host: "127.0.0.1",
    port: server.addr.port,
    protocol: "http",
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 0,
    telemetry: false,
  });
  return { stripe, sessions, close: () => server.shutdown() };
}

/** Signs and posts an event to the webhook through the gateway, as Stripe delivers it. */
async function deliver(type: string, object: Record<string, unknown>) {
  const payload = JSON.stringify(stripeEvent(type, object));
  const res = await fetch(`${api.url}/functions/v1/stripe-webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "stripe-signature": await signature(payload, { secret: webhookSecret }),
    },
    body: payload,
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

Deno.test("checkout.ts: a pack checkout, paid, reaches the user as a purchase", async () => {
  exercised.add("checkout.ts");
  const alice = await user(0);
  const bob = await user(0);
  const fake = fakeStripeApi({ price_pack_small: 500 });
  try {
    const { data: pack } = await alice.supabase.from("token_packs").select("*").eq("id", "pack_small")
      .single();
    const url = await packCheckout(fake.stripe, alice.id, pack!, "https://app.example");
    assert.match(url, /^https:\/\/checkout\.stripe\.test\//);
    const sent = fake.sessions[0];
    assert.deepEqual(
      [
        sent.mode,
        sent.client_reference_id,
        sent["metadata[pack_id]"],
        sent["payment_intent_data[metadata][user_id]"],
      ],
      ["payment", alice.id, "pack_small", alice.id],
    );

    // The customer pays; Stripe sends checkout.session.completed for the session it made.
    const session = paidPackSession(
      url.split("/").at(-1)!,
      sent.client_reference_id,
      sent["metadata[pack_id]"],
    );
    const first = await deliver("checkout.session.completed", session);
    assert.equal(first.status, "processed");

    const { data: rows } = await alice.supabase.from("token_transactions")
      .select("transaction_type, token_amount, pack_id, amount_cents, currency, stripe_checkout_session_id");
    assert.deepEqual(rows, [{
      transaction_type: "purchase",
      token_amount: 100000,
      pack_id: "pack_small",
      amount_cents: 500,
      currency: "usd",
      stripe_checkout_session_id: session.id,
    }]);
    assert.equal((await myBalance(alice.supabase)).available, 100000);
    const { data: bobs } = await bob.supabase.from("token_transactions").select("id");
    assert.deepEqual(bobs, [], "nobody else sees it");
  } finally {
    await fake.close();
  }
});

Deno.test("checkout.ts: a subscription checkout, then Stripe's events: the user sees the subscription, the drip and the next one", async () => {
  const alice = await user(0);
  const fake = fakeStripeApi({ price_sub_monthly: 1999 });
  try {
    const { data: plan } = await alice.supabase.from("subscription_plans").select("*").eq("id", "default")
      .single();
    const url = await subscriptionCheckout(fake.stripe, alice.id, plan!, "https://app.example");
    const sent = fake.sessions[0];
    assert.deepEqual([sent.mode, sent["subscription_data[metadata][user_id]"]], ["subscription", alice.id]);

    const now = Math.floor(Date.now() / 1000);
    const sub = `sub_test_${crypto.randomUUID().replaceAll("-", "")}`;
    const customer = `cus_test_${crypto.randomUUID().replaceAll("-", "")}`;
    await deliver("checkout.session.completed", {
      id: url.split("/").at(-1),
      object: "checkout.session",
      mode: "subscription",
      payment_status: "paid",
      status: "complete",
      client_reference_id: alice.id,
      customer,
      subscription: sub,
      metadata: {},
    });
    await deliver("customer.subscription.created", {
      id: sub,
      object: "subscription",
      customer,
      status: "active",
      start_date: now,
      created: now,
      metadata: { user_id: sent["subscription_data[metadata][user_id]"] },
      items: {
        object: "list",
        data: [{
          price: { id: plan!.stripe_price_id, recurring: { interval: "month", interval_count: 1 } },
          current_period_start: now,
          current_period_end: now + 31 * 86400,
        }],
      },
    });
    const paid = await deliver("invoice.paid", {
      id: `in_test_${crypto.randomUUID().replaceAll("-", "")}`,
      object: "invoice",
      billing_reason: "subscription_create",
      amount_paid: 1999,
      customer,
      parent: { subscription_details: { subscription: sub } },
    });
    assert.equal(paid.status, "processed");

    const { data: subs } = await alice.supabase.from("customer_subscriptions").select(
      "plan_id, status, next_drip_at",
    );
    assert.deepEqual(subs!.map((s) => [s.plan_id, s.status]), [["default", "active"]]);
    const { data: drips } = await alice.supabase.from("token_drips").select("cycle_number, drip_amount");
    assert.deepEqual(drips, [{ cycle_number: 1, drip_amount: 375000 }]);
    const balance = await myBalance(alice.supabase);
    assert.equal(balance.available, 375000);
    assert.equal(
      Date.parse(balance.next_drip_at!),
      (now + 28 * 86400) * 1000,
      "the next drip: 28 days after the start",
    );
    assert.equal(balance.next_drip_at, subs![0].next_drip_at);
  } finally {
    await fake.close();
  }
});

Deno.test("every file of docs/examples ran above", () => {
  const files = [...Deno.readDirSync(new URL("../../../docs/examples/", import.meta.url))]
    .filter((e) => e.isFile && e.name.endsWith(".ts")).map((e) => e.name).sort();
  assert.deepEqual([...exercised].sort(), files);
});
