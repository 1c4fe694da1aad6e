// Sign-in for the local stack, which has no Auth server: `npm run token -- <email> [--admin]`
// creates the user in auth.users if missing (as a sign-up would, so the database's sign-up
// triggers run) and prints an access token with the claims Supabase Auth issues (sub, role,
// aud, email, app_metadata, user_metadata, exp, ...), signed with the local JWT secret.
//
//   --admin          make the user an admin first: app_metadata.role = 'admin' in the row, as an
//                    operator does it on Supabase (the claims then come from the row)
//   --expires-in S   lifetime in seconds (default: config.toml's [auth] jwt_expiry, 3600)
//   --json           print {"user_id", "email", "access_token"} instead of the bare token
//
// Local only. With `supabase start` or on Supabase, sign in through Auth (supabase.auth).
// Environment: DB_URL (postgres) and API_URL, JWT_SECRET; scripts/token.sh sets them.
import postgres from "postgres";
import { parse } from "smol-toml";
import { type AuthUser, signJwt, userClaims } from "./jwt.ts";

type Sql = ReturnType<typeof postgres>;

/** The user with this email, created (email provider, confirmed) if missing; `admin` sets app_metadata.role. */
export async function ensureUser(sql: Sql, email: string, opts: { admin?: boolean } = {}): Promise<AuthUser> {
  const find = () =>
    sql<AuthUser[]>`select id, email, phone, raw_app_meta_data, raw_user_meta_data, is_anonymous
                      from auth.users where lower(email) = lower(${email})`;
  let [user] = await find();
  if (!user) {
    await sql`insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data)
              values (gen_random_uuid(), 'authenticated', 'authenticated', ${email}, now(),
                      '{"provider": "email", "providers": ["email"]}', '{}')`;
    [user] = await find();
  }
  if (opts.admin && user.raw_app_meta_data?.role !== "admin") {
    await sql`update auth.users
                 set raw_app_meta_data = coalesce(raw_app_meta_data, '{}') || '{"role": "admin"}', updated_at = now()
               where id = ${user.id}`;
    [user] = await find();
  }
  return user;
}

/** An access token for `user`, as Supabase Auth would sign it after a password sign-in. */
export function userToken(user: AuthUser, opts: { secret: string; apiUrl: string; expiresIn?: number }) {
  return signJwt(userClaims(user, opts), opts.secret);
}

function usage(message?: string): never {
  if (message) console.error(`error: ${message}`);
  console.error("usage: npm run token -- <email> [--admin] [--expires-in SECONDS] [--json]");
  Deno.exit(2);
}

if (import.meta.main) {
  let email: string | undefined;
  let admin = false;
  let json = false;
  let expiresIn: number | undefined;
  for (let i = 0; i < Deno.args.length; i++) {
    const a = Deno.args[i];
    if (a === "--admin") admin = true;
    else if (a === "--json") json = true;
    else if (a === "--expires-in") {
      expiresIn = Number(Deno.args[++i]);
      if (!Number.isInteger(expiresIn) || expiresIn <= 0) {
        usage("--expires-in takes a positive number of seconds");
      }
    } else if (a === "-h" || a === "--help") usage();
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else if (email) usage("one email at a time");
    else email = a;
  }
  if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) usage("an email address is required");
  const config = parse(Deno.readTextFileSync(new URL("../../supabase/config.toml", import.meta.url))) as {
    auth?: { jwt_expiry?: number };
  };
  const sql = postgres(Deno.env.get("DB_URL")!, { max: 1, onnotice: () => {} });
  try {
    const user = await ensureUser(sql, email, { admin });
    const token = await userToken(user, {
      secret: Deno.env.get("JWT_SECRET")!,
      apiUrl: Deno.env.get("API_URL")!,
      expiresIn: expiresIn ?? config.auth?.jwt_expiry,
    });
    console.log(json ? JSON.stringify({ user_id: user.id, email: user.email, access_token: token }) : token);
  } finally {
    await sql.end();
  }
}
