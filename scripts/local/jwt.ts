// HS256 JWTs as the local stack needs them: verifying a caller's token (the gateway's
// verify_jwt for functions) and signing user tokens shaped like Supabase Auth's access tokens
// (`npm run token`, the tests, the benchmarks). Local only: with `supabase start` or on
// Supabase, Auth signs the tokens.

export type Claims = Record<string, unknown>;

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(s: string): Uint8Array<ArrayBuffer> {
  const b = atob(s.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  if (!keys.has(secret)) {
    keys.set(
      secret,
      crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]),
    );
  }
  return keys.get(secret)!;
}

/** An HS256 JWT of `claims`, signed with `secret`. */
export async function signJwt(claims: Claims, secret: string): Promise<string> {
  const body = `${base64url(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })))}.${
    base64url(encoder.encode(JSON.stringify(claims)))
  }`;
  const sig = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(body));
  return `${body}.${base64url(new Uint8Array(sig))}`;
}

/** The claims of a valid HS256 token signed with `secret` and not expired; otherwise null. */
export async function verifyJwt(token: string, secret: string): Promise<Claims | null> {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(fromBase64url(parts[0])));
    if (header.alg !== "HS256") return null;
    const ok = await crypto.subtle.verify(
      "HMAC",
      await hmacKey(secret),
      fromBase64url(parts[2]),
      encoder.encode(`${parts[0]}.${parts[1]}`),
    );
    if (!ok) return null;
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1])));
    if (typeof claims !== "object" || claims === null) return null;
    if (typeof claims.exp === "number" && claims.exp <= Date.now() / 1000) return null;
    return claims;
  } catch {
    return null;
  }
}

/** The columns of auth.users that Supabase Auth puts into an access token. */
export type AuthUser = {
  id: string;
  email: string | null;
  phone: string | null;
  raw_app_meta_data: Claims | null;
  raw_user_meta_data: Claims | null;
  is_anonymous: boolean | null;
};

/**
 * The claims Supabase Auth signs for a password sign-in of `user`: app_metadata and
 * user_metadata come from the user's row, so an admin (app_metadata.role = 'admin') gets an
 * admin's token. `expiresIn` defaults to config.toml's [auth] jwt_expiry (3600 s).
 */
export function userClaims(
  user: AuthUser,
  opts: { apiUrl: string; expiresIn?: number; now?: number },
): Claims {
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  return {
    iss: `${opts.apiUrl}/auth/v1`,
    sub: user.id,
    aud: "authenticated",
    exp: iat + (opts.expiresIn ?? 3600),
    iat,
    email: user.email ?? "",
    phone: user.phone ?? "",
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: iat }],
    session_id: crypto.randomUUID(),
    is_anonymous: user.is_anonymous ?? false,
  };
}
