// The stripe-webhook function over HTTP, for everything decided before the database: method,
// signature, timestamp, payload shape, and a database that cannot be reached. No test here
// needs a database: the function is pointed at a closed port, so a 400 also proves that the
// request never got as far as the database (it would have answered 500).
import assert from "node:assert/strict";
import { serveFunction } from "./_helpers.ts";
import { closedDbUrl, fixture, postEvent, testWebhookSecret } from "./_stripe.ts";
import { closeDb } from "../../functions/stripe-webhook/handler.ts";

async function withWebhook(fn: (url: string) => Promise<void>, env: Record<string, string> = {}) {
  const server = await serveFunction("stripe-webhook", {
    STRIPE_WEBHOOK_SECRET: testWebhookSecret,
    SUPABASE_DB_URL: closedDbUrl,
    ...env,
  });
  try {
    await fn(server.url);
  } finally {
    await server.close();
    await closeDb();
  }
}

async function expectError(res: Response, status: number, error: string) {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error, error);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
}

const event = fixture("checkout_session_completed_payment");

Deno.test("stripe-webhook: GET and other methods get 405 with Allow: POST", async () => {
  await withWebhook(async (url) => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await fetch(url, { method });
      assert.equal(res.headers.get("allow"), "POST");
      await expectError(res, 405, "method_not_allowed");
    }
  });
});

Deno.test("stripe-webhook: a missing signature header is 400", async () => {
  await withWebhook(async (url) => {
    await expectError(await postEvent(url, event, { signature: null }), 400, "missing_signature");
  });
});

Deno.test("stripe-webhook: a malformed or forged signature is 400", async () => {
  await withWebhook(async (url) => {
    const now = Math.floor(Date.now() / 1000);
    for (const sig of ["garbage", `t=${now},v1=${"0".repeat(64)}`, `t=${now}`, `v1=${"a".repeat(64)}`]) {
      await expectError(await postEvent(url, event, { signature: sig }), 400, "invalid_signature");
    }
  });
});

Deno.test("stripe-webhook: a signature made with another secret is 400", async () => {
  await withWebhook(async (url) => {
    const res = await postEvent(url, event, { secret: "whsec_someone_else_0123456789" });
    await expectError(res, 400, "invalid_signature");
  });
});

Deno.test("stripe-webhook: a timestamp older than 5 minutes is 400 (replay)", async () => {
  await withWebhook(async (url) => {
    const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
    await expectError(await postEvent(url, event, { timestamp: tenMinutesAgo }), 400, "invalid_signature");
  });
});

Deno.test("stripe-webhook: a body changed after signing is 400 (truncated, or one byte off)", async () => {
  await withWebhook(async (url) => {
    const truncated = event.slice(0, event.length - 10);
    await expectError(await postEvent(url, truncated, { signedPayload: event }), 400, "invalid_signature");
    const reformatted = JSON.stringify(JSON.parse(event)); // same JSON, other bytes
    await expectError(await postEvent(url, reformatted, { signedPayload: event }), 400, "invalid_signature");
  });
});

Deno.test("stripe-webhook: a correctly signed body that is not JSON is 400", async () => {
  await withWebhook(async (url) => {
    for (const body of ["not json", "", event.slice(0, 40)]) {
      await expectError(await postEvent(url, body), 400, "invalid_payload");
    }
  });
});

Deno.test("stripe-webhook: correctly signed JSON that is not a Stripe event is 400", async () => {
  const parsed = JSON.parse(event);
  const without = (key: string) => JSON.stringify({ ...parsed, [key]: undefined });
  const bodies = [
    "null",
    "42",
    '"evt_1"',
    "[]",
    JSON.stringify([parsed]),
    '{"hello":"world"}',
    without("id"),
    without("type"),
    without("data"),
    without("object"),
    JSON.stringify({ ...parsed, id: "ch_123" }), // not an event id
    JSON.stringify({ ...parsed, id: "evt_1'; drop table x; --" }),
    JSON.stringify({ ...parsed, id: 12345 }),
    JSON.stringify({ ...parsed, type: "" }),
    JSON.stringify({ ...parsed, object: "v2.core.event" }), // a thin event: not for this endpoint
    JSON.stringify({ ...parsed, data: { object: null } }),
    JSON.stringify({ ...parsed, data: "x" }),
  ];
  await withWebhook(async (url) => {
    for (const body of bodies) {
      const res = await postEvent(url, body);
      assert.equal(res.status, 400, body.slice(0, 80));
      await expectError(res, 400, "invalid_payload");
    }
  });
});

/** The fixture event with a change: `edit` gets a parsed copy to change in place. */
function withField(edit: (e: Record<string, unknown>) => void): string {
  const copy = JSON.parse(event);
  edit(copy);
  return JSON.stringify(copy);
}

/** Posts every body, signed, and says what each case got: "<status> <error>". */
async function answersOf(url: string, bodies: Record<string, string>) {
  const answers: Record<string, string> = {};
  for (const [what, body] of Object.entries(bodies)) {
    const res = await postEvent(url, body);
    answers[what] = `${res.status} ${(await res.json()).error}`;
  }
  return answers;
}

const everyCase = (bodies: Record<string, string>, answer: string) =>
  Object.fromEntries(Object.keys(bodies).map((w) => [w, answer]));

// Signed events that are JSON, but not a usable event: the database could not store them (jsonb
// has no \u0000 and no lone surrogate, numeric has a range, parsing has a depth limit) or
// handle_stripe_event refuses them (22023). Every one must be 400 before the database is asked.
// (Issue 9, item 8: these answered 500, and Stripe retries a 500 for three days.)
Deno.test("stripe-webhook: signed JSON the ledger cannot store is 400 before the database", async () => {
  const parsed = JSON.parse(event);
  const session = (edit: (s: Record<string, unknown>) => void) =>
    withField((e) => edit((e.data as Record<string, Record<string, unknown>>).object));
  // A number literal JSON.stringify cannot write: a placeholder string replaced in the text.
  const withLiteral = (literal: string) =>
    session((s) => (s.amount_total = "__literal__")).replace('"__literal__"', literal);
  let deep: unknown = "bottom";
  for (let i = 0; i < 5000; i++) deep = [deep];
  let justTooDeep: unknown = "bottom";
  for (let i = 0; i < 97; i++) justTooDeep = [justTooDeep]; // 4 levels above: 101
  const bodies: Record<string, string> = {
    "no created": withField((e) => delete e.created),
    "created null": withField((e) => (e.created = null)),
    "created a fraction": withField((e) => (e.created = 1768435260.5)),
    "created a string": withField((e) => (e.created = "1768435260")),
    "created negative": withField((e) => (e.created = -1)),
    "created past the year 9999": withField((e) => (e.created = 253402300800)),
    "created 1e400": withField((e) => (e.created = 0)).replace('"created":0', '"created":1e400'),
    "id of 249 characters": withField((e) => (e.id = `evt_${"a".repeat(245)}`)),
    "id of 300 characters": withField((e) => (e.id = `evt_${"a".repeat(296)}`)),
    "type of 256 characters": withField((e) => (e.type = "a".repeat(256))),
    "type not a string": withField((e) => (e.type = ["checkout.session.completed"])),
    "livemode not a boolean": withField((e) => (e.livemode = "yes")),
    "data.object an array": withField((e) => (e.data = { object: [] })),
    "data.object an array of the session": withField((e) => (e.data = { object: [parsed.data.object] })),
    "\\u0000 in a value": session((s) => (s.client_reference_id = "a\0b")),
    "\\u0000 in a key": session((s) => (s.metadata = { "pack\0id": "pack_small" })),
    "\\u0000 in the type": withField((e) => (e.type = "checkout.session.completed\0")),
    "a lone surrogate": session((s) => (s.customer_email = "\ud800@example.test")),
    "a number numeric cannot hold (1e-200000)": withLiteral("1e-200000"),
    "a number numeric cannot hold (1e200000)": withLiteral("1e200000"),
    "nested 5,000 deep": session((s) => (s.metadata = { deep })),
    "nested 101 deep": session((s) => (s.metadata = { deep: justTooDeep })),
  };
  await withWebhook(async (url) => {
    // Compared all at once, so that a failure lists every case that got through.
    assert.deepEqual(await answersOf(url, bodies), everyCase(bodies, "400 invalid_payload"));
  });
});

// The other side of the same rule: events at its edges are usable, so they get as far as the
// database (here a closed port: 500). A rule that refused them would lose real payments.
Deno.test("stripe-webhook: events at the edges of the rule reach the database", async () => {
  let deep: unknown = "bottom";
  for (let i = 0; i < 40; i++) deep = [deep];
  const bodies: Record<string, string> = {
    "id of 248 characters": withField((e) => (e.id = `evt_${"a".repeat(244)}`)),
    "created 0": withField((e) => (e.created = 0)),
    "created written 1768435260.0": event.replace('"created": 1768435260,', '"created": 1768435260.0,'),
    "created written 1.76843526e9": event.replace('"created": 1768435260,', '"created": 1.76843526e9,'),
    "no livemode": withField((e) => delete e.livemode),
    "an escaped backslash before u0000 (text, not a NUL)": withField((e) => (e.type = "x\\u0000")),
    "an emoji (a surrogate pair)": withField((e) => (e.type = "checkout.session.completed \u{1F600}")),
    "a large number numeric can hold": event.replace('"amount_total": 500', '"amount_total": 1e300'),
    "nested 40 deep": withField((e) => ((e.data as Record<string, Record<string, unknown>>).object.metadata = { deep })),
  };
  for (const [what, body] of Object.entries(bodies)) assert.notEqual(body, event, `${what}: the edit did not apply`);
  await withWebhook(async (url) => {
    assert.deepEqual(await answersOf(url, bodies), everyCase(bodies, "500 database_error"));
  });
});

Deno.test("stripe-webhook: a valid event while the database is unreachable is 500", async () => {
  await withWebhook(async (url) => {
    const res = await postEvent(url, event);
    const body = await res.json();
    assert.equal(res.status, 500, JSON.stringify(body));
    assert.deepEqual(body, { error: "database_error", event_id: "evt_test_checkout_completed_pack_small" });
  });
});

Deno.test("stripe-webhook: a database that accepts but never answers gives 500 after the connect timeout", async () => {
  // A TCP server that takes the connection and says nothing, like a hung pooler.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  try {
    const dbUrl = `postgresql://postgres:postgres@127.0.0.1:${listener.addr.port}/postgres?sslmode=disable`;
    await withWebhook(async (url) => {
      const started = Date.now();
      const res = await postEvent(url, event);
      await expectError(res, 500, "database_error");
      const seconds = (Date.now() - started) / 1000;
      assert.ok(seconds >= 4 && seconds < 15, `answered after ${seconds} s`);
    }, { SUPABASE_DB_URL: dbUrl });
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test("stripe-webhook: no STRIPE_WEBHOOK_SECRET configured is 500, not a pass", async () => {
  const previous = Deno.env.get("STRIPE_WEBHOOK_SECRET");
  try {
    await withWebhook(async (url) => {
      Deno.env.delete("STRIPE_WEBHOOK_SECRET");
      const res = await postEvent(url, event, { secret: "whsec_a_guess_0123456789" });
      await expectError(res, 500, "not_configured");
    });
  } finally {
    if (previous !== undefined) Deno.env.set("STRIPE_WEBHOOK_SECRET", previous);
  }
});
