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
