// Sends Stripe event fixtures to the local stripe-webhook function, signed as Stripe signs them.
// Run through `npm run stripe:send -- [--new-id] [--url URL] <fixture> [<fixture>...]`, where a
// fixture is a path to a JSON file or a name from supabase/tests/fixtures/stripe
// (`checkout_session_completed_payment`, with or without `.json`).
//
//   --new-id   give each event a fresh `evt_...` id (Stripe never sends two events with one id;
//              without it, a second send is a redelivery and should answer `duplicate`).
//   --url URL  where to post (default http://127.0.0.1:$API_PORT/functions/v1/stripe-webhook).
//
// STRIPE_WEBHOOK_SECRET signs; scripts/stripe-send.sh defaults it to the local stack's secret.
// Prints each answer; exits non-zero if any answer is not 2xx.
import Stripe from "stripe";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const fixturesDir = fileURLToPath(new URL("../supabase/tests/fixtures/stripe/", import.meta.url));

function usage(message?: string): never {
  if (message) console.error(`error: ${message}`);
  console.error("usage: npm run stripe:send -- [--new-id] [--url URL] <fixture-path-or-name>...");
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

let newId = false;
let url = `http://127.0.0.1:${Deno.env.get("API_PORT") ?? "54321"}/functions/v1/stripe-webhook`;
const files: string[] = [];
for (let i = 0; i < Deno.args.length; i++) {
  const arg = Deno.args[i];
  if (arg === "--new-id") newId = true;
  else if (arg === "--url") url = Deno.args[++i] ?? usage("--url needs a value");
  else if (arg === "-h" || arg === "--help") usage();
  else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
  else files.push(resolveFixture(arg));
}
if (files.length === 0) usage("no fixture given");

const secret = Deno.env.get("STRIPE_WEBHOOK_SECRET");
if (!secret) usage("STRIPE_WEBHOOK_SECRET is not set");

const cryptoProvider = Stripe.createSubtleCryptoProvider();
let failed = 0;
for (const file of files) {
  let payload = Deno.readTextFileSync(file);
  let event: { id?: unknown; type?: unknown };
  try {
    event = JSON.parse(payload);
  } catch (err) {
    console.error(`${file}: not JSON (${(err as Error).message}); sending it anyway`);
    event = {};
  }
  if (newId) {
    event.id = `evt_local_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
    payload = JSON.stringify(event, null, 2);
  }
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({ payload, secret, cryptoProvider });
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
  console.log(`${event.type ?? "?"} ${event.id ?? "?"} -> ${status}`);
  console.log(body);
}
Deno.exit(failed ? 1 : 0);
