// One chat turn paid for with a hold, end to end on the local stack: the code of
// docs/examples/streaming-chat.ts (what docs/holds.md describes) through supabase-js and the
// gateway, with a fake model (scripts/local/fake-model.ts) instead of a vendor's API. Prints the
// stream as it comes, the hold, the settle, and the balance before and after.
//
//   npm run demo:stream                          the seed's demo user, a reply of 40 words
//   npm run demo:stream -- --user me@example.com any user (created if missing, as `npm run token`)
//   npm run demo:stream -- --fail-after 5        the stream breaks after 5 words: what was shown is settled
//   npm run demo:stream -- --fail-after 0        it breaks before any text: the hold is released
//
// Environment (scripts/demo-stream.sh sets it): DB_URL, SUPABASE_URL, SUPABASE_ANON_KEY, JWT_SECRET.
import postgres from "postgres";
import { userClient } from "../docs/examples/client.ts";
import { myBalance } from "../docs/examples/ledger.ts";
import { streamChat } from "../docs/examples/streaming-chat.ts";
import { fakeModel } from "./local/fake-model.ts";
import { ensureUser, userToken } from "./local/token.ts";

function usage(message?: string): never {
  if (message) console.error(`error: ${message}`);
  console.error("usage: npm run demo:stream -- [--user EMAIL] [--fail-after WORDS] [--words N]");
  Deno.exit(2);
}

let email = "demo@example.test";
let failAfterWords: number | undefined;
let words = 40;
for (let i = 0; i < Deno.args.length; i++) {
  const a = Deno.args[i];
  const next = () => Deno.args[++i] ?? usage(`${a} needs a value`);
  if (a === "--user") email = next();
  else if (a === "--fail-after") failAfterWords = Number(next());
  else if (a === "--words") words = Number(next());
  else if (a === "-h" || a === "--help") usage();
  else usage(`unknown argument ${a}`);
}
if (failAfterWords !== undefined && !(Number.isInteger(failAfterWords) && failAfterWords >= 0)) {
  usage("--fail-after takes a number of words");
}
if (!(Number.isInteger(words) && words > 0 && words <= 2000)) usage("--words takes 1 to 2000");

// Sign in: the local stack has no Auth server, so the token is signed here (as `npm run token`).
const sql = postgres(Deno.env.get("DB_URL")!, { max: 1, onnotice: () => {} });
let token: string;
try {
  const user = await ensureUser(sql, email);
  token = await userToken(user, {
    secret: Deno.env.get("JWT_SECRET")!,
    apiUrl: Deno.env.get("SUPABASE_URL")!,
  });
  console.log(`signed in as ${email} (${user.id})`);
} finally {
  await sql.end();
}
const supabase = userClient(token);

const before = await myBalance(supabase);
console.log(`available before: ${before.available} (balance ${before.balance}, held ${before.held})`);

const reply = Array.from({ length: words }, (_, i) => ["tokens", "flow", "through", "the", "ledger"][i % 5])
  .join(" ");
const messageId = crypto.randomUUID();
console.log(`turn ${messageId}: reserving, then streaming\n`);
const outcome = await streamChat(
  supabase,
  fakeModel({ reply, delayMs: 40, failAfterWords }),
  [{ role: "user", content: "Tell me how a hold works, briefly." }],
  messageId,
  (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)),
  { maxOutputTokens: 512 },
);
console.log("\n");

if (outcome.ok) {
  const s = outcome.settle;
  console.log(
    `settled: ${s.tokens} tokens used, ${s.released} of the hold released, overage ${s.overage_tokens}`,
  );
} else if (outcome.reason === "insufficient_tokens") {
  console.log(
    `not enough tokens for this turn: ${outcome.available} available (a purchase: npm run stripe:send -- checkout_session_completed_payment)`,
  );
} else if (outcome.reason === "failed") {
  // The example settled what was shown, or released the hold when nothing was (see the hold below).
  console.log(`the stream failed: ${(outcome.error as Error).message ?? outcome.error}`);
} else {
  console.log(`the hold lapsed before the settle and its tokens were spent meanwhile`);
}
const after = await myBalance(supabase);
console.log(`available after: ${after.available} (balance ${after.balance}, held ${after.held})`);
const { data: holds } = await supabase.from("token_holds").select(
  "status, tokens_held, tokens_used, tokens_released",
)
  .eq("idempotency_key", `chat:${messageId}`);
console.log(`the hold: ${JSON.stringify(holds?.[0])}`);
Deno.exit(outcome.ok || outcome.reason === "insufficient_tokens" || failAfterWords !== undefined ? 0 : 1);
