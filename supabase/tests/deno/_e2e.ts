// Shared pieces of the end-to-end tests (e2e_*.test.ts): the cast of callers, each with the
// supabase-js client an app of that kind makes, talking to the test run's gateway (_api.ts);
// and the ledger footprint of users read straight from the database, to assert that a refused
// call wrote nothing.
import assert from "node:assert/strict";
import type { SupabaseClient } from "@supabase/supabase-js";
import { client, serviceClient, signUp } from "./_api.ts";
import { connect, type Sql } from "./_helpers.ts";

export type Role = "anon" | "user" | "other" | "admin" | "service";
export const roles: Role[] = ["anon", "user", "other", "admin", "service"];

type Person = Awaited<ReturnType<typeof signUp>>;
export type Cast = {
  /** The user whose tokens the calls aim at; `other` is another user, `admin` an admin. */
  user: Person;
  other: Person;
  admin: Person;
  as: Record<Role, SupabaseClient>;
};

/** Three new users (one an admin), each granted `tokens` by the service, and a client per role. */
export async function cast(tokens = 1_000_000): Promise<Cast> {
  const [user, other, admin] = await Promise.all([signUp(), signUp(), signUp({ admin: true })]);
  const service = serviceClient();
  for (const p of [user, other, admin]) {
    if (tokens > 0) {
      const { error } = await service.rpc("grant_tokens", {
        p_user_id: p.id,
        p_amount: tokens,
        p_type: "admin_grant",
        p_idempotency_key: `e2e-start-${p.id}`,
      });
      assert.equal(error, null);
    }
  }
  return {
    user,
    other,
    admin,
    as: { anon: client(), user: user.client, other: other.client, admin: admin.client, service },
  };
}

/** What the ledger holds for each user, as one line each (tests.ledger_footprint). */
export async function footprint(sql: Sql, ...userIds: string[]): Promise<string[]> {
  const rows = await sql`
    select tests.ledger_footprint(u.id) as f
      from unnest(${userIds}::uuid[]) with ordinality as u(id, n) order by u.n`;
  return rows.map((r) => r.f as string);
}

/** A unique idempotency key for one call. */
export const key = (what: string) => `e2e-${what}-${crypto.randomUUID()}`;

/** The HTTP status and error code a supabase-js call came back with ("200 -" when it succeeded). */
export function outcome(res: { status: number; error: { code?: string } | null }): string {
  return `${res.status} ${res.error ? res.error.code : "-"}`;
}

/**
 * Time passes the expiry of the user's expiring lots (or holds), without waiting: they are
 * moved to a second ago, and the balance row's cached due time with them, in one transaction,
 * as the clock would (verify_token_ledger checks that the cache is never later than what is due).
 */
export async function lapse(userId: string, table: "token_lots" | "token_holds") {
  const sql = connect(1);
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(
        `update public.${table} set expires_at = now() - interval '1 second' where user_id = $1 and expires_at is not null`,
        [userId],
      );
      await tx`update public.token_balances set next_due_at = least(next_due_at, now() - interval '1 second')
                where user_id = ${userId}`;
    });
  } finally {
    await sql.end();
  }
}

