// Sends Stripe event fixtures to the local stripe-webhook function, signed as Stripe signs them.
// Run through `npm run stripe:send -- [options] <fixture> [<fixture>...]`, where a fixture is a
// path to a JSON file or a name from supabase/tests/fixtures/stripe
// (`checkout_session_completed_payment`, with or without `.json`).
//
//   --user ID  the user the events name: every `client_reference_id` and every
//              `metadata.user_id` in the event becomes ID (a user of auth.users)
//   --now      shift every Unix time in the event (created, periods, start_date, ...) by the
//              same amount, so that the event is created now and its periods keep their length
//   --fresh    fresh ids for every Stripe object the events name (event, session, payment
//              intent, charge, customer, subscription, invoice, ...; price and product ids stay,
//              they name packs and plans): a new purchase instead of a replay of the fixture's.
//              One old id gets one new id across all fixtures of the command, so a
//              subscription's events still agree with each other.
//   --new-id   a fresh event id only (Stripe never sends two events with one id; without it, a
//              second send is a redelivery and answers `duplicate`)
//   --url URL  where to post (default http://127.0.0.1:$API_PORT/functions/v1/stripe-webhook)
//
// STRIPE_WEBHOOK_SECRET signs; scripts/stripe-send.sh defaults it to the local stack's secret.
// Prints each answer; exits non-zero if any answer is not 2xx.
import Stripe from "stripe";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const fixturesDir = fileURLToPath(new URL("../supabase/tests/fixtures/stripe/", import.meta.url));

// deno-lint-ignore no-explicit-any
type Json = any;

export type Changes = {
  user?: string;
  /** Unix seconds the event's `created` becomes; every other time moves by as much. */
  now?: number;
  /** Old id -> new id, shared by the events of one command; absent: ids stay. */
  freshIds?: Map<string, string>;
  newEventId?: boolean;
};

// Ids of Stripe objects that a fixture makes up (prices and products name packs and plans).
const objectId = /^(evt|cs|pi|ch|in|il|ii|sub|si|cus|du|dp|pm|re|py|txn|req)_[A-Za-z0-9_]+$/;
// Unix times in seconds (2001 to 2096); amounts in cents and counts are far below.
const isUnixTime = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= 1e9 && (v as number) < 4e9;

function freshIdFor(old: string, ids: Map<string, string>): string {
  if (!ids.has(old)) {
    ids.set(
      old,
      `${old.slice(0, old.indexOf("_"))}_local_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`,
    );
  }
  return ids.get(old)!;
}

/** The event with `changes` applied (a new object; the fixture is not modified). */
export function prepareEvent(event: Json, changes: Changes): Json {
  const shift = changes.now !== undefined && isUnixTime(event?.created) ? changes.now - event.created : 0;
  const walk = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === "object") {
      const out: Json = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v);
      if (changes.user !== undefined) {
        if ("client_reference_id" in out) out.client_reference_id = changes.user;
        if (out.metadata && typeof out.metadata === "object" && "user_id" in out.metadata) {
          out.metadata.user_id = changes.user;
        }
      }
      return out;
    }
    if (typeof value === "string" && changes.freshIds && objectId.test(value)) {
      return freshIdFor(value, changes.freshIds);
    }
    if (shift && isUnixTime(value)) return value + shift;
    return value;
  };
  const out = walk(event);
  if (changes.newEventId) out.id = `evt_local_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
  return out;
}

function usage(message?: string): never {
  if (message) console.error(`error: ${message}`);
  console.error(
    "usage: npm run stripe:send -- [--user ID] [--now] [--fresh] [--new-id] [--url URL] <fixture-path-or-name>...",
  );
  console.error(`fixtures: ${listFixtures().join(" ")}`);
  Deno.exit(2);
}

function listFixtures(): string[] {
  return [...Deno.readDirSync(fixturesDir)]
    .filter((e) => e.isFile && e.name.endsWith(".json"))
    .map((e) => e.name.replace(/\.json$/, ""))
    .sort();
}

function resolveFixture(arg: string): string {
  for (const candidate of [arg, join(fixturesDir, arg), join(fixturesDir, `${arg}.json`)]) {
    if (existsSync(candidate) && Deno.statSync(candidate).isFile) return candidate;
  }
  usage(`no fixture ${arg}`);
}

async function main() {
  const changes: Changes = {};
  let url = `http://127.0.0.1:${Deno.env.get("API_PORT") ?? "54321"}/functions/v1/stripe-webhook`;
  const files: string[] = [];
  for (let i = 0; i < Deno.args.length; i++) {
    const arg = Deno.args[i];
    if (arg === "--new-id") changes.newEventId = true;
    else if (arg === "--fresh") changes.freshIds = new Map();
    else if (arg === "--now") changes.now = Math.floor(Date.now() / 1000);
    else if (arg === "--user") {
      changes.user = Deno.args[++i] ?? usage("--user needs a user id");
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(changes.user)) {
        usage(`--user takes the user's id (a UUID from auth.users), not ${changes.user}`);
      }
    } else if (arg === "--url") url = Deno.args[++i] ?? usage("--url needs a value");
    else if (arg === "-h" || arg === "--help") usage();
    else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
    else files.push(resolveFixture(arg));
  }
  if (files.length === 0) usage("no fixture given");

  const secret = Deno.env.get("STRIPE_WEBHOOK_SECRET");
  if (!secret) usage("STRIPE_WEBHOOK_SECRET is not set");
  const changed = changes.user !== undefined || changes.now !== undefined || changes.freshIds ||
    changes.newEventId;

  const cryptoProvider = Stripe.createSubtleCryptoProvider();
  let failed = 0;
  for (const file of files) {
    let payload = Deno.readTextFileSync(file);
    let event: Json;
    try {
      event = JSON.parse(payload);
    } catch (err) {
      console.error(`${file}: not JSON (${(err as Error).message}); sending it anyway`);
      event = {};
    }
    if (changed && event && typeof event === "object") {
      event = prepareEvent(event, changes);
      payload = JSON.stringify(event, null, 2);
    }
    const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
      payload,
      secret,
      cryptoProvider,
    });
    let status: string;
    let body: string;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": signature },
        body: payload,
      });
      status = `${res.status}`;
      body = await res.text();
      if (!res.ok) failed++;
    } catch (err) {
      status = "no answer";
      body = (err as Error).message;
      failed++;
    }
    console.log(`${event?.type ?? "?"} ${event?.id ?? "?"} -> ${status}`);
    console.log(body);
  }
  Deno.exit(failed ? 1 : 0);
}

if (import.meta.main) await main();
