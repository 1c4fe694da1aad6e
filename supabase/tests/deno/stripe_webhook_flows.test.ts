// Stripe event flows end to end: signed events through HTTP into the served stripe-webhook
// function, public.handle_stripe_event on the test database (TEST_DB_URL), and the outcome
// checked in the database: token_transactions, stripe_events, customer_subscriptions, the
// balance (public.get_token_balance as the superuser) and an empty verify_token_ledger().
//
// Every test builds its events from the fixtures with fresh event, session, payment intent,
// charge, dispute and subscription ids and its own user, so tests never collide on the shared
// test database (all Deno tests of a run use it) and a rerun on the same database passes.
import assert from "node:assert/strict";
import { concurrently, connect, serveFunction, testDbUrl } from "./_helpers.ts";
import { closedDbUrl, editFixture, freshId, postEvent, testWebhookSecret } from "./_stripe.ts";
import { closeDb } from "../../functions/stripe-webhook/handler.ts";

type Sql = ReturnType<typeof connect>;
// deno-lint-ignore no-explicit-any
type Json = any;

/** This file's pack: 1,000 tokens. Its purchases cost 300 cents, so a third is 333.33 tokens. */
const PACK = "deno_webhook_pack";
const PACK_TOKENS = 1000;
const PRICE_CENTS = 300;
/** This file's subscription plan (its price id is what the subscription items name). */
const PLAN = "deno_webhook_plan";
const PLAN_PRICE = "price_deno_webhook_plan";

async function withWebhook(
  fn: (url: string, sql: Sql) => Promise<void>,
  dbUrl: string = testDbUrl,
) {
  const sql = connect(2);
  const server = await serveFunction("stripe-webhook", {
    STRIPE_WEBHOOK_SECRET: testWebhookSecret,
    SUPABASE_DB_URL: dbUrl,
  });
  try {
    await sql`
      insert into public.token_packs (id, name, tokens) values (${PACK}, 'Deno webhook tests', ${PACK_TOKENS})
      on conflict (id) do nothing`;
    await sql`
      insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens)
      values (${PLAN}, ${PLAN_PRICE}, 'Deno webhook tests', 1000)
      on conflict (id) do nothing`;
    await fn(server.url, sql);
    // Whatever the test did, the whole ledger still adds up.
    assert.deepEqual([...await sql`select * from public.verify_token_ledger()`], [], "verify_token_ledger()");
  } finally {
    await server.close();
    await closeDb();
    await sql.end();
  }
}

/** A new user in auth.users, and fresh Stripe ids for everything it will buy. */
async function newBuyer(sql: Sql) {
  const userId = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${userId}, ${`${userId}@example.test`})`;
  return {
    userId,
    session: freshId("cs"),
    paymentIntent: freshId("pi"),
    charge: freshId("ch"),
    dispute: freshId("du"),
  };
}
type Buyer = Awaited<ReturnType<typeof newBuyer>>;

// ---- events, from the fixtures ------------------------------------------------------------

/** A checkout session event from `fixture` for the buyer's session (a new event id): one pack. */
function checkoutEvent(fixture: string, b: Buyer, edit: (e: Json) => void = () => {}): string {
  return editFixture(fixture, (e) => {
    e.id = freshId("evt");
    const s = e.data.object;
    s.id = b.session;
    s.payment_intent = b.paymentIntent;
    s.client_reference_id = b.userId;
    s.metadata = { pack_id: PACK };
    s.amount_subtotal = s.amount_total = PRICE_CENTS;
    edit(e);
  });
}

/** checkout.session.completed (mode payment, paid). */
const checkoutCompleted = (b: Buyer, edit?: (e: Json) => void) =>
  checkoutEvent("checkout_session_completed_payment", b, edit);

/** checkout.session.async_payment_succeeded for the same session. */
const asyncPaymentSucceeded = (b: Buyer) => checkoutEvent("checkout_session_async_payment_succeeded", b);

/** charge.refunded with `refunded` cents refunded so far (cumulative, as Stripe sends it). */
function chargeRefunded(b: Buyer, refunded: number, metadata: Record<string, string> = {}): string {
  return editFixture(refunded < PRICE_CENTS ? "charge_refunded_partial" : "charge_refunded_full", (e) => {
    e.id = freshId("evt");
    const c = e.data.object;
    c.id = b.charge;
    c.payment_intent = b.paymentIntent;
    c.amount = c.amount_captured = PRICE_CENTS;
    c.amount_refunded = refunded;
    c.refunded = refunded >= PRICE_CENTS;
    c.metadata = metadata;
  });
}

/** charge.dispute.created / charge.dispute.closed (won or lost) for the buyer's charge. */
function dispute(b: Buyer, fixture: "created" | "closed_won" | "closed_lost", cents = PRICE_CENTS): string {
  return editFixture(`charge_dispute_${fixture}`, (e) => {
    e.id = freshId("evt");
    const d = e.data.object;
    d.id = b.dispute;
    d.charge = b.charge;
    d.payment_intent = b.paymentIntent;
    d.amount = cents;
  });
}

// ---- delivery and checks --------------------------------------------------------------------

async function deliver(url: string, payload: string) {
  const res = await postEvent(url, payload); // signed anew each time, as Stripe does on a retry
  return { status: res.status, body: await res.json() };
}

/** Delivers and expects 200 with the given status ("processed", "ignored", "duplicate"). */
async function expect200(url: string, payload: string, status: string) {
  const res = await deliver(url, payload);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.status, status, JSON.stringify(res.body));
  assert.equal(res.body.event_id, JSON.parse(payload).id);
  return res.body;
}

async function balance(sql: Sql, userId: string): Promise<{ balance: number; debt: number }> {
  const [row] = await sql`select public.get_token_balance(${userId}::uuid) as b`;
  return { balance: row.b.balance, debt: row.b.debt };
}

/** The user's token transactions in order, as "type amount". */
async function transactions(sql: Sql, userId: string): Promise<string[]> {
  const rows = await sql`
    select transaction_type || ' ' || token_amount as t from public.token_transactions
    where user_id = ${userId}::uuid order by created_at, id`;
  return rows.map((r) => r.t as string);
}

async function eventRow(sql: Sql, payload: string) {
  const [row] = await sql`select type, status, error, result from public.stripe_events where id = ${
    JSON.parse(payload).id
  }`;
  return row;
}

// ---- tests ----------------------------------------------------------------------------------

Deno.test("stripe flows: 20 concurrent deliveries of one checkout event make one purchase", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    const event = checkoutCompleted(b);
    const results = await Promise.all(Array.from({ length: 20 }, () => deliver(url, event)));
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    const statuses = results.map((r) => r.body.status).sort();
    assert.deepEqual(statuses, [...Array(19).fill("duplicate"), "processed"]);
    // Every duplicate answers with the one purchase.
    const purchaseIds = new Set(results.map((r) => r.body.result.transaction_id));
    assert.equal(purchaseIds.size, 1);

    assert.deepEqual(await transactions(sql, b.userId), [`purchase ${PACK_TOKENS}`]);
    assert.deepEqual(await balance(sql, b.userId), { balance: PACK_TOKENS, debt: 0 });
    const [{ n }] = await sql`select count(*)::int as n from public.stripe_events where id = ${
      JSON.parse(event).id
    }`;
    assert.equal(n, 1);
    const [lots] = await sql`
      select count(*)::int as n, sum(remaining)::int as remaining from public.token_lots where user_id = ${b.userId}::uuid`;
    assert.deepEqual({ ...lots }, { n: 1, remaining: PACK_TOKENS });
  }));

Deno.test("stripe flows: completed and async_payment_succeeded for one session, 10 deliveries each at once: one purchase", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    const completed = checkoutCompleted(b);
    const succeeded = asyncPaymentSucceeded(b);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => deliver(url, i % 2 ? completed : succeeded)),
    );
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    // Each event is processed once (the second of them replays the session's purchase).
    assert.equal(results.filter((r) => r.body.status === "processed").length, 2);
    assert.deepEqual(await transactions(sql, b.userId), [`purchase ${PACK_TOKENS}`]);
    assert.deepEqual(await balance(sql, b.userId), { balance: PACK_TOKENS, debt: 0 });
    const [{ key }] = await sql`
      select idempotency_key as key from public.token_transactions where user_id = ${b.userId}::uuid`;
    assert.equal(key, `checkout:${b.session}`);
  }));

// Issue 9, item 2: a uuid client_reference_id that is not a user made a paid checkout "ignored".
Deno.test("stripe flows: a paid checkout whose client_reference_id is not a user goes to metadata.user_id", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    const event = checkoutCompleted(b, (e) => {
      e.data.object.client_reference_id = crypto.randomUUID(); // a uuid, but nobody's
      e.data.object.metadata.user_id = b.userId;
    });
    const body = await expect200(url, event, "processed");
    assert.equal(body.result.user_id, b.userId);
    assert.deepEqual(await transactions(sql, b.userId), [`purchase ${PACK_TOKENS}`]);
  }));

// Issue 9, item 2: a paid checkout naming nobody vanished as "ignored". Now it is kept as
// unattributed (200: only an operator can resolve it, Stripe's retries cannot), and the
// operator's attribute_payment grants it through the purchase path, once.
Deno.test("stripe flows: a paid checkout naming no known user is 200 unattributed, kept, and attributed once by an operator", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    const event = checkoutCompleted(b, (e) => {
      e.data.object.client_reference_id = crypto.randomUUID();
      e.data.object.customer_details = { email: "lost@example.test" };
    });
    const first = await expect200(url, event, "unattributed");
    assert.equal(first.result.stripe_checkout_session_id, b.session);
    assert.equal(first.result.amount_cents, PRICE_CENTS);
    const [kept] = await sql`
      select stripe_event_id, amount_cents, customer_email, attributed_user_id, payload = ${event}::text::jsonb as same_payload
      from public.unattributed_payments where stripe_checkout_session_id = ${b.session}`;
    assert.deepEqual({ ...kept }, {
      stripe_event_id: JSON.parse(event).id,
      amount_cents: String(PRICE_CENTS), // bigint
      customer_email: "lost@example.test",
      attributed_user_id: null,
      same_payload: true,
    });
    assert.equal((await eventRow(sql, event)).status, "unattributed");
    assert.deepEqual(await transactions(sql, b.userId), []);
    await expect200(url, event, "duplicate");

    // The operator finds the buyer (by the e-mail) and attributes the payment, twice.
    const attribute = () =>
      sql`select public.attribute_payment(${b.session}, ${b.userId}::uuid) as r`.then(([row]) => row.r);
    const granted = await attribute();
    assert.equal(granted.replayed, false);
    assert.equal(granted.token_amount, PACK_TOKENS);
    assert.equal((await attribute()).replayed, true);
    // Stripe's redelivery after attribution is a duplicate; a later event of the session replays.
    await expect200(url, event, "duplicate");
    const later = await expect200(url, asyncPaymentSucceeded({ ...b, userId: crypto.randomUUID() }), "processed");
    assert.equal(later.result.transaction_id, granted.transaction_id);
    assert.equal(later.result.replayed, true);
    assert.deepEqual(await transactions(sql, b.userId), [`purchase ${PACK_TOKENS}`]);
    assert.deepEqual(await balance(sql, b.userId), { balance: PACK_TOKENS, debt: 0 });
  }));

// attribute_payment is keyed by the session and locks the kept payment: operators racing each
// other (for the same user or for two users) and events of the same session arriving meanwhile
// still make one purchase, for one user.
Deno.test("stripe flows: concurrent attributions of one payment, for two users, while its events arrive: one purchase", () =>
  withWebhook(async (url, sql) => {
    const a = await newBuyer(sql);
    const other = await newBuyer(sql);
    const nobody = { ...a, userId: crypto.randomUUID() };
    await expect200(url, checkoutCompleted(nobody), "unattributed");
    const attribute = (userId: string) => (tx: typeof sql) =>
      tx`select public.attribute_payment(${a.session}, ${userId}::uuid) as r`.then(([row]) => row.r);
    const operators = connect(12); // one connection per operator: concurrently() opens them all at once
    const [attributions, deliveries] = await Promise.all([
      concurrently(operators, [...Array(8).fill(attribute(a.userId)), ...Array(4).fill(attribute(other.userId))]),
      Promise.all(Array.from({ length: 6 }, () => deliver(url, asyncPaymentSucceeded(nobody)))),
    ]).finally(() => operators.end());
    // One user won; every call for that user got the one purchase; the other user's got PT409.
    const granted = attributions.filter((o) => o.ok).map((o) => (o as { value: Json }).value);
    const winner = granted[0].user_id;
    assert.ok([a.userId, other.userId].includes(winner));
    assert.equal(new Set(granted.map((g) => g.transaction_id)).size, 1);
    assert.equal(granted.filter((g) => !g.replayed).length, 1, "one call made the purchase, the others replayed it");
    const refused = attributions.filter((o) => !o.ok).map((o) => (o as { code: string }).code);
    assert.deepEqual(refused, Array(winner === a.userId ? 4 : 8).fill("PT409"));
    for (const d of deliveries) {
      assert.equal(d.status, 200, JSON.stringify(d.body));
      assert.ok(["unattributed", "processed"].includes(d.body.status), JSON.stringify(d.body));
    }
    const [{ n }] = await sql`
      select count(*)::int as n from public.token_transactions where stripe_checkout_session_id = ${a.session}`;
    assert.equal(n, 1);
    const loser = winner === a.userId ? other.userId : a.userId;
    assert.deepEqual(await transactions(sql, winner), [`purchase ${PACK_TOKENS}`]);
    assert.deepEqual(await transactions(sql, loser), []);
  }));

Deno.test("stripe flows: subscription updates out of order: the older one is ignored, the row keeps the newer state", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    const subscription = freshId("sub");
    const customer = freshId("cus");
    // customer_subscription_updated.json: created 1769904005, period Feb 1 -> Mar 1 2026.
    const update = (created: number, status: string, edit: (s: Json) => void = () => {}) =>
      editFixture("customer_subscription_updated", (e) => {
        e.id = freshId("evt");
        e.created = created;
        const s = e.data.object;
        s.id = subscription;
        s.customer = customer;
        s.status = status;
        s.metadata = { user_id: b.userId };
        s.items.data[0].subscription = subscription;
        s.items.data[0].price.id = PLAN_PRICE;
        edit(s);
      });
    const newer = update(1769904005, "past_due");
    const older = update(1768000000, "active", (s) => {
      s.cancel_at_period_end = true;
      s.current_period_start = s.items.data[0].current_period_start = 1767225600;
      s.current_period_end = s.items.data[0].current_period_end = 1769904000;
    });

    const first = await expect200(url, newer, "processed");
    assert.equal(first.result.status, "past_due");
    const second = await expect200(url, older, "ignored");
    assert.match(second.result.ignored, /^stale event/);

    const [row] = await sql`
      select user_id, stripe_customer_id, plan_id, status, cancel_at_period_end,
             extract(epoch from current_period_start)::int as period_start,
             extract(epoch from current_period_end)::int as period_end,
             extract(epoch from last_stripe_event_at)::int as last_event
      from public.customer_subscriptions where stripe_subscription_id = ${subscription}`;
    assert.deepEqual({ ...row }, {
      user_id: b.userId,
      stripe_customer_id: customer,
      plan_id: PLAN,
      status: "past_due",
      cancel_at_period_end: false,
      period_start: 1769904000,
      period_end: 1772323200,
      last_event: 1769904005,
    });
    assert.deepEqual({ ...await eventRow(sql, newer) }, {
      type: "customer.subscription.updated",
      status: "processed",
      error: null,
      result: first.result,
    });
    const olderRow = await eventRow(sql, older);
    assert.equal(olderRow.status, "ignored");
    assert.match(olderRow.error, /^stale event/);
  }));

Deno.test("stripe flows: partial then full refund take back floor(tokens x refunded / paid), the full amount every token", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    await expect200(url, checkoutCompleted(b), "processed");
    // 100 of 300 cents: floor(1000 x 100 / 300) = floor(333.33) = 333.
    const partial = await expect200(url, chargeRefunded(b, 100), "processed");
    assert.equal(partial.result.transaction_type, "refund");
    assert.equal(partial.result.token_amount, -333);
    assert.deepEqual(await balance(sql, b.userId), { balance: 667, debt: 0 });
    // 300 of 300 (cumulative): every token, so 667 more.
    const full = await expect200(url, chargeRefunded(b, PRICE_CENTS), "processed");
    assert.equal(full.result.token_amount, -667);
    assert.deepEqual(await balance(sql, b.userId), { balance: 0, debt: 0 });
    assert.deepEqual(await transactions(sql, b.userId), ["purchase 1000", "refund -333", "refund -667"]);

    // The refund rows point at the purchase and name the charge.
    const rows = await sql`
      select r.stripe_charge_id, r.stripe_payment_intent_id, r.related_transaction_id = p.id as of_purchase
      from public.token_transactions r
      join public.token_transactions p on p.user_id = r.user_id and p.transaction_type = 'purchase'
      where r.user_id = ${b.userId}::uuid and r.transaction_type = 'refund'`;
    for (const r of rows) {
      assert.deepEqual({ ...r }, {
        stripe_charge_id: b.charge,
        stripe_payment_intent_id: b.paymentIntent,
        of_purchase: true,
      });
    }
    // A late copy of the partial refund (an older, lower total) takes nothing more.
    const late = await expect200(url, chargeRefunded(b, 100), "processed");
    assert.equal(late.result.tokens, 0);
    assert.equal((await transactions(sql, b.userId)).length, 3);
  }));

Deno.test("stripe flows: dispute, then a refund of the same money: taken back once", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    await expect200(url, checkoutCompleted(b), "processed");
    const disputed = await expect200(url, dispute(b, "created"), "processed");
    assert.equal(disputed.result.transaction_type, "dispute");
    assert.equal(disputed.result.token_amount, -PACK_TOKENS);
    const refunded = await expect200(url, chargeRefunded(b, PRICE_CENTS), "processed");
    assert.equal(refunded.result.tokens, 0, JSON.stringify(refunded.result));
    assert.deepEqual(await transactions(sql, b.userId), ["purchase 1000", "dispute -1000"]);
    assert.deepEqual(await balance(sql, b.userId), { balance: 0, debt: 0 });
  }));

Deno.test("stripe flows: a won dispute reinstates the tokens as a dispute_reversal", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    await expect200(url, checkoutCompleted(b), "processed");
    // The buyer spends 400 first: the dispute puts them 400 in debt, the reversal repays it.
    await sql`select public.record_usage('chat', 400, ${freshId("usage")}, ${b.userId}::uuid)`;
    await expect200(url, dispute(b, "created"), "processed");
    assert.deepEqual(await balance(sql, b.userId), { balance: -400, debt: 400 });
    const won = await expect200(url, dispute(b, "closed_won"), "processed");
    assert.equal(won.result.transaction_type, "dispute_reversal");
    assert.equal(won.result.token_amount, PACK_TOKENS);
    assert.deepEqual(await balance(sql, b.userId), { balance: 600, debt: 0 });
    assert.deepEqual(await transactions(sql, b.userId), [
      "purchase 1000",
      "dispute -1000",
      "dispute_reversal 1000",
    ]);
  }));

Deno.test("stripe flows: a lost dispute keeps the tokens taken back", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    await expect200(url, checkoutCompleted(b), "processed");
    await expect200(url, dispute(b, "created"), "processed");
    const closed = dispute(b, "closed_lost");
    const lost = await expect200(url, closed, "ignored");
    assert.match(lost.result.ignored, /dispute lost/);
    assert.equal((await eventRow(sql, closed)).status, "ignored");
    assert.deepEqual(await transactions(sql, b.userId), ["purchase 1000", "dispute -1000"]);
    assert.deepEqual(await balance(sql, b.userId), { balance: 0, debt: 0 });
  }));

Deno.test("stripe flows: an event type the ledger does not handle is 200 ignored and recorded", () =>
  withWebhook(async (url, sql) => {
    const event = editFixture("customer_created", (e) => {
      e.id = freshId("evt");
      e.data.object.id = freshId("cus");
    });
    const body = await expect200(url, event, "ignored");
    assert.deepEqual(body.result, { ignored: "event type customer.created is not handled" });
    assert.deepEqual({ ...await eventRow(sql, event) }, {
      type: "customer.created",
      status: "ignored",
      error: "event type customer.created is not handled",
      result: body.result,
    });
    await expect200(url, event, "duplicate");
  }));

Deno.test("stripe flows: a refund before its purchase is 500; after the purchase, Stripe's retry takes the tokens back", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    // The app sets payment_intent_data.metadata (pack_id, user_id): the charge says it is a pack.
    const refund = chargeRefunded(b, PRICE_CENTS, { pack_id: PACK, user_id: b.userId });
    const early = await deliver(url, refund);
    assert.equal(early.status, 500, JSON.stringify(early.body));
    assert.deepEqual(early.body, { error: "database_error", event_id: JSON.parse(refund).id });
    assert.equal(await eventRow(sql, refund), undefined, "the failed attempt left no event row");
    assert.deepEqual(await transactions(sql, b.userId), []);

    await expect200(url, checkoutCompleted(b), "processed");
    const retried = await expect200(url, refund, "processed");
    assert.equal(retried.result.transaction_type, "refund");
    assert.equal(retried.result.token_amount, -PACK_TOKENS);
    assert.deepEqual(await transactions(sql, b.userId), ["purchase 1000", "refund -1000"]);
    assert.deepEqual(await balance(sql, b.userId), { balance: 0, debt: 0 });
  }));

Deno.test("stripe flows: database unreachable is 500; the retry after SUPABASE_DB_URL is fixed is processed", () =>
  withWebhook(async (url, sql) => {
    const b = await newBuyer(sql);
    const event = checkoutCompleted(b);
    const down = await deliver(url, event);
    assert.equal(down.status, 500, JSON.stringify(down.body));
    assert.deepEqual(down.body, { error: "database_error", event_id: JSON.parse(event).id });
    assert.equal(await eventRow(sql, event), undefined);

    // The operator fixes SUPABASE_DB_URL; the function reads it per request, no restart.
    Deno.env.set("SUPABASE_DB_URL", testDbUrl);
    await expect200(url, event, "processed");
    assert.deepEqual(await transactions(sql, b.userId), ["purchase 1000"]);
    assert.deepEqual(await balance(sql, b.userId), { balance: PACK_TOKENS, debt: 0 });
    await expect200(url, event, "duplicate");
  }, closedDbUrl));
