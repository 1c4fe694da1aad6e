// The Stripe webhook handler. Thin on purpose: check the request, verify the signature, pass
// the raw event to `public.handle_stripe_event(jsonb)` and answer with what it returns. The
// database decides what an event means (purchase, subscription, refund, dispute, or nothing)
// and makes it idempotent on the event id.
//
// Answers:
//   405  anything but POST.
//   400  missing or bad `Stripe-Signature`, timestamp older than the tolerance (300 s), or a
//        body that is not a usable Stripe snapshot event (usable_event.ts). Nothing is written.
//   200  the RPC committed; its result (status "processed", "duplicate", "ignored" or
//        "unattributed") is the body.
//   500  configuration missing, or any database error (see `callRpc`). Stripe retries.
//
// Environment, read per request so a changed value takes effect without a restart:
//   STRIPE_WEBHOOK_SECRET  the endpoint's signing secret (whsec_...).
//   SUPABASE_DB_URL        set by Supabase for every function; use the transaction pooler URL.

import Stripe from "stripe";
import postgres from "postgres";
import { type EventHead, usableEvent } from "./usable_event.ts";

// Only the static webhook helpers are used: no Stripe API call is made, so no API key is needed.
const cryptoProvider = Stripe.createSubtleCryptoProvider();

type Sql = ReturnType<typeof postgres>;
let pool: { url: string; sql: Sql } | undefined;

/** One small pool per isolate, made on first use and again only if SUPABASE_DB_URL changes. */
function db(url: string): Sql {
  if (pool?.url === url) return pool.sql;
  const previous = pool?.sql;
  pool = {
    url,
    sql: postgres(url, {
      prepare: false, // Supabase's transaction pooler (Supavisor) cannot keep prepared statements
      max: 5,
      idle_timeout: 20, // seconds; an idle isolate gives its connections back
      connect_timeout: 5, // seconds; fail fast and let Stripe retry rather than hang
      connection: { application_name: "stripe-webhook" },
      onnotice: () => {},
    }),
  };
  previous?.end({ timeout: 5 }).catch(() => {});
  return pool.sql;
}

/** Closes the pool (tests call this so no connection outlives them). */
export async function closeDb(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.sql.end({ timeout: 5 });
}

const json = (body: unknown, status: number, headers: HeadersInit = {}) =>
  Response.json(body, { status, headers });

export async function handler(req: Request): Promise<Response> {
  if (req.method !== "POST") {
    await req.body?.cancel();
    return json({ error: "method_not_allowed" }, 405, { Allow: "POST" });
  }

  const secret = Deno.env.get("STRIPE_WEBHOOK_SECRET");
  const dbUrl = Deno.env.get("SUPABASE_DB_URL");
  if (!secret || !dbUrl) {
    // Our misconfiguration, not Stripe's: 500 so Stripe keeps retrying until it is fixed.
    await req.body?.cancel();
    console.error("stripe-webhook: STRIPE_WEBHOOK_SECRET or SUPABASE_DB_URL is not set");
    return json({ error: "not_configured" }, 500);
  }

  // The signature covers the exact bytes Stripe sent: verify the raw text, never a re-encoding.
  const body = await req.text();
  const signature = req.headers.get("stripe-signature");
  if (!signature) return json({ error: "missing_signature" }, 400);
  if (body === "") return json({ error: "invalid_payload", message: "empty body" }, 400);
  let event: unknown;
  try {
    // Checks the signature and the timestamp (default tolerance: 300 s), then parses the body.
    event = await Stripe.webhooks.constructEventAsync(body, signature, secret, undefined, cryptoProvider);
  } catch (err) {
    const badSignature = err instanceof Stripe.errors.StripeSignatureVerificationError;
    console.warn(`stripe-webhook: rejected: ${(err as Error).message.split("\n")[0]}`);
    // Anything else came after the signature checked out: the body is not JSON (SyntaxError)
    // or is a thin (v2) event notification, which this endpoint does not take.
    return badSignature
      ? json({ error: "invalid_signature", message: "signature verification failed" }, 400)
      : json({ error: "invalid_payload", message: "body is not a Stripe snapshot event" }, 400);
  }
  if (typeof event !== "object") return json({ error: "invalid_payload", message: "body is not a JSON object" }, 400);
  const head = usableEvent(body);
  if (typeof head === "string") {
    console.warn(`stripe-webhook: rejected: not a usable event: ${head}`);
    return json({ error: "invalid_payload", message: `body is not a usable Stripe snapshot event: ${head}` }, 400);
  }

  return await callRpc(dbUrl, body, head);
}

// Any database error answers 500, whatever its SQLSTATE, including 22023 (invalid parameter)
// raised by handle_stripe_event for an event it cannot apply yet. The event is authentic (the
// signature checked out) and usable (usable_event.ts applies the RPC's own 22023 rule for the
// envelope first), so a failure is ours: a bug, missing reference data (an unknown pack or
// price), a migration not yet applied, or an outage. The RPC runs in one transaction,
// so the failed attempt left nothing behind, not even the event row; Stripe retries a non-2xx
// answer with backoff (live mode: for up to three days), and once the cause is fixed a retry
// (or a resend from the Stripe dashboard) is processed as a first delivery. A 4xx would be retried too, but it would
// blame the sender in logs and dashboards; 500 says where the problem is.
async function callRpc(dbUrl: string, body: string, head: EventHead): Promise<Response> {
  try {
    // The raw text goes to Postgres as-is (no JSON.parse/stringify round trip: numbers stay
    // exactly as Stripe sent them). `::text` first: postgres.js asks the server for parameter
    // types and JSON-encodes a string bound to a jsonb parameter, which would hand the RPC one
    // JSON string instead of the event object.
    const [row] = await db(dbUrl)`select public.handle_stripe_event(${body}::text::jsonb) as result`;
    return json(row.result, 200);
  } catch (err) {
    const { code = "no sqlstate", message = String(err) } = err as { code?: string; message?: string };
    console.error(`stripe-webhook: database error for ${head.id} (${head.type}): ${code} ${message}`);
    return json({ error: "database_error", event_id: head.id }, 500);
  }
}
