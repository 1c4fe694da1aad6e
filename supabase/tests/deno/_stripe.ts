// Stripe helpers for the Deno tests: fixtures, fresh ids, and signing a payload the way Stripe
// does (the `Stripe-Signature` header: `t=<unix seconds>,v1=<HMAC-SHA256 of "t.payload">`).
import Stripe from "stripe";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The secret the tests give the function; any whsec_ value works, this one is only for tests. */
export const testWebhookSecret = "whsec_deno_tests_token_ledger_0123456789";

/** Where a server answers connection attempts with a refusal: a database that is down. */
export const closedDbUrl = "postgresql://postgres:postgres@127.0.0.1:1/postgres?sslmode=disable";

const cryptoProvider = Stripe.createSubtleCryptoProvider();
export const fixturesDir = fileURLToPath(new URL("../fixtures/stripe/", import.meta.url));

/** The raw text of fixture `name` (with or without `.json`). */
export function fixture(name: string): string {
  return Deno.readTextFileSync(join(fixturesDir, name.endsWith(".json") ? name : `${name}.json`));
}

/** A new Stripe-looking id with the given prefix (evt, cs, pi, ...). */
export function freshId(prefix: string): string {
  return `${prefix}_test_${crypto.randomUUID().replaceAll("-", "")}`;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** A snapshot event as Stripe sends it, with a new id and `created` now. */
export function stripeEvent<T>(type: string, object: T) {
  return {
    id: freshId("evt"),
    object: "event",
    api_version: "2025-03-31.basil",
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object },
  };
}

/** A paid pack Checkout Session of 500 cents (pack_small), naming `user` (null: nobody). */
export function paidPackSession(session: string, user: string | null, packId = "pack_small") {
  return {
    id: session,
    object: "checkout.session",
    mode: "payment",
    payment_status: "paid",
    status: "complete",
    amount_total: 500,
    currency: "usd",
    client_reference_id: user,
    metadata: { pack_id: packId },
    payment_intent: freshId("pi"),
  };
}

/** Fixture text with changes: `edit` gets the parsed event and may change it in place. */
export function editFixture(name: string, edit: (event: Json) => void): string {
  const event = JSON.parse(fixture(name));
  edit(event);
  return JSON.stringify(event, null, 2);
}

/** The `Stripe-Signature` header for `payload`; `timestamp` in Unix seconds (default: now). */
export async function signature(
  payload: string,
  opts: { secret?: string; timestamp?: number } = {},
): Promise<string> {
  return await Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret: opts.secret ?? testWebhookSecret,
    timestamp: opts.timestamp,
    cryptoProvider,
  });
}

/**
 * POSTs `payload` to the webhook, signed over `signedPayload` (default: the payload itself).
 * `signature: null` sends no signature header; a string sends that header as is.
 */
export async function postEvent(
  url: string,
  payload: string,
  opts: { secret?: string; timestamp?: number; signedPayload?: string; signature?: string | null } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const sig = opts.signature !== undefined
    ? opts.signature
    : await signature(opts.signedPayload ?? payload, { secret: opts.secret, timestamp: opts.timestamp });
  if (sig !== null) headers["stripe-signature"] = sig;
  return await fetch(url, { method: "POST", headers, body: payload });
}
