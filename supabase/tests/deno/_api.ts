// The API of the test run, reached as apps reach it: scripts/test.sh serves a gateway, PostgREST
// and the functions on TEST_DB_PORT+3..5 (as `npm start` does on 54321) and exports TEST_API_URL
// and the keys. Users sign up by a row in auth.users and get a token shaped like Supabase Auth's
// (scripts/local/token.ts), since the local stack has no Auth server.
import { createClient } from "@supabase/supabase-js";
import { connect } from "./_helpers.ts";
import { signJwt } from "../../../scripts/local/jwt.ts";
import { ensureUser, userToken } from "../../../scripts/local/token.ts";

const jwtSecret = Deno.env.get("TEST_JWT_SECRET") ??
  "super-secret-jwt-token-with-at-least-32-characters-long";
// The demo keys that `supabase start` prints, unless the run exported others.
const demoKey = (role: string) => signJwt({ iss: "supabase-demo", role, exp: 1983812996 }, jwtSecret);

export const api = {
  url: Deno.env.get("TEST_API_URL") ?? "http://127.0.0.1:54333",
  anonKey: Deno.env.get("TEST_ANON_KEY") ?? await demoKey("anon"),
  serviceRoleKey: Deno.env.get("TEST_SERVICE_ROLE_KEY") ?? await demoKey("service_role"),
  jwtSecret,
};

const auth = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false };

/** A client as an app makes it: the anon key, and the user's access token once signed in. */
export function client(accessToken?: string) {
  return createClient(api.url, api.anonKey, {
    auth,
    global: accessToken ? { headers: { Authorization: `Bearer ${accessToken}` } } : {},
  });
}

/** A client with the service key, as a server or an Edge Function makes it. */
export function serviceClient() {
  return createClient(api.url, api.serviceRoleKey, { auth });
}

/** A new user (as sign-up leaves it; `admin` makes it an admin), its token and its client. */
export async function signUp(opts: { admin?: boolean } = {}) {
  const sql = connect(1);
  try {
    const user = await ensureUser(sql, `${crypto.randomUUID()}@test.local`, opts);
    const token = await userToken(user, { secret: api.jwtSecret, apiUrl: api.url });
    return { id: user.id, token, client: client(token) };
  } finally {
    await sql.end();
  }
}
