// The clients the examples take: supabase-js with the generated `Database` types. Every
// example function takes its client as the first argument, so one program can act as several
// users (as `npm test` does when it runs them, supabase/tests/deno/docs_examples.test.ts).
//
// Runtimes: Deno, or Node.js 22 or later (supabase-js needs a native WebSocket, which Node 20
// lacks). Configuration from the environment: SUPABASE_URL, SUPABASE_ANON_KEY and, on your
// server only, SUPABASE_SERVICE_ROLE_KEY (`npm start` prints them for the local stack).
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Database } from "../../supabase/types/database.types.ts";

export type LedgerClient = SupabaseClient<Database>;

const url = () => Deno.env.get("SUPABASE_URL") ?? "http://127.0.0.1:54321";
const env = (name: string) => {
  const value = Deno.env.get(name);
  if (!value) throw new Error(`${name} is not set (npm start prints it)`);
  return value;
};
// A script or a server keeps no session between runs; a browser app leaves these out.
const noSession = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false };

/**
 * An app's client with Supabase Auth: the user signs in through `supabase.auth` (password,
 * magic link, OAuth...) and every request and Realtime channel carries the session's token.
 */
export function appClient(): LedgerClient {
  return createClient<Database>(url(), env("SUPABASE_ANON_KEY"));
}

/**
 * A client acting as the user whose access token it is given: a token from another identity
 * provider (Supabase's third-party auth), or on the local stack, which has no Auth server,
 * the one `npm run token -- you@example.com` prints. `supabase.auth` is not available on it.
 */
export function userClient(accessToken: string): LedgerClient {
  return createClient<Database>(url(), env("SUPABASE_ANON_KEY"), {
    accessToken: () => Promise.resolve(accessToken),
  });
}

/** Your server's client: the service key acts for anyone. Never ship it to a browser. */
export function serviceClient(): LedgerClient {
  return createClient<Database>(url(), env("SUPABASE_SERVICE_ROLE_KEY"), { auth: noSession });
}
