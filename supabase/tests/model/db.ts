// Runs a model Call against the database the way PostgREST runs a request: one transaction,
// `role` and `request.jwt.claims` set locally, then `select public.<rpc>(p_... => ...)`. The
// transaction's now() is read first, in the same transaction, so the model applies the call at
// exactly the instant the database did.
import postgres from "postgres";
import { type Call, type Caller, fromUs, type Json, type Us } from "./model.ts";

export type Sql = ReturnType<typeof postgres>;
export type Outcome = { ok: true; value: Json } | { ok: false; code: string; message: string };

/** The claims PostgREST would set for a caller (forged claims come from the hostile corpus). */
export function claimsFor(caller: Caller): { role: string; claims: Record<string, Json> } {
  if (caller.kind === "service") return { role: "service_role", claims: { role: "service_role" } };
  if (caller.kind === "anon") return { role: "anon", claims: { role: "anon" } };
  return {
    role: "authenticated",
    claims: {
      sub: caller.userId,
      role: "authenticated",
      aud: "authenticated",
      app_metadata: caller.admin ? { role: "admin", provider: "email" } : { provider: "email" },
      user_metadata: {},
    },
  };
}

type Arg = [name: string, type: string, value: unknown];

const ts = (
  v: Us | null | "infinity" | undefined,
) => (v === undefined ? undefined : v === null ? null : v === "infinity" ? "infinity" : fromUs(v));
const num = (v: number | null | undefined) => (v === undefined ? undefined : v === null ? null : String(v));
const js = (v: Json | undefined) => (v === undefined ? undefined : v === null ? null : JSON.stringify(v));

/** The RPC and its named arguments (undefined: left out, so the default applies). */
export function rpcOf(c: Call): { fn: string; args: Arg[]; rows?: boolean } | null {
  switch (c.op) {
    case "record_usage":
      return {
        fn: "record_usage",
        args: [
          ["p_feature", "text", c.feature],
          ["p_tokens", "bigint", num(c.tokens)],
          ["p_idempotency_key", "text", c.key],
          ["p_user_id", "uuid", c.userId],
          ["p_model", "text", c.model],
          ["p_metadata", "jsonb", js(c.metadata)],
        ],
      };
    case "get_token_balance":
      return { fn: "get_token_balance", args: [["p_user_id", "uuid", c.userId]] };
    case "grant_tokens":
      return {
        fn: "grant_tokens",
        args: [
          ["p_user_id", "uuid", c.userId],
          ["p_amount", "bigint", num(c.amount)],
          ["p_type", "text", c.type],
          ["p_idempotency_key", "text", c.key],
          ["p_source", "text", c.source],
          ["p_expires_at", "timestamptz", ts(c.expiresAt)],
          ["p_metadata", "jsonb", js(c.metadata)],
        ],
      };
    case "record_purchase":
      return {
        fn: "record_purchase",
        args: [
          ["p_user_id", "uuid", c.userId],
          ["p_pack_id", "text", c.packId],
          ["p_idempotency_key", "text", c.key],
          ["p_amount_cents", "bigint", num(c.amountCents)],
          ["p_currency", "text", c.currency],
          ["p_stripe_checkout_session_id", "text", c.session],
          ["p_stripe_payment_intent_id", "text", c.pi],
          ["p_stripe_customer_id", "text", c.customer],
          ["p_stripe_event_id", "text", c.eventId],
          ["p_metadata", "jsonb", js(c.metadata)],
        ],
      };
    case "reserve_tokens":
      return {
        fn: "reserve_tokens",
        args: [
          ["p_feature", "text", c.feature],
          ["p_tokens", "bigint", num(c.tokens)],
          ["p_idempotency_key", "text", c.key],
          ["p_user_id", "uuid", c.userId],
          ["p_ttl_seconds", "integer", num(c.ttl)],
        ],
      };
    case "settle_hold":
      return {
        fn: "settle_hold",
        args: [["p_hold_id", "uuid", c.holdId], ["p_tokens_used", "bigint", num(c.used)], [
          "p_model",
          "text",
          c.model,
        ], ["p_metadata", "jsonb", js(c.metadata)]],
      };
    case "release_hold":
      return { fn: "release_hold", args: [["p_hold_id", "uuid", c.holdId]] };
    case "expire_holds":
    case "expire_tokens":
      return { fn: c.op, args: [["p_as_of", "timestamptz", ts(c.asOf)]] };
    case "run_drip":
      return {
        fn: "run_drip",
        args: [["p_subscription_id", "uuid", c.subId], ["p_as_of", "timestamptz", ts(c.asOf)]],
      };
    case "run_due_drips":
      return {
        fn: "run_due_drips",
        args: [["p_as_of", "timestamptz", ts(c.asOf)], ["p_limit", "integer", num(c.limit)]],
      };
    case "verify_token_ledger":
      return { fn: "verify_token_ledger", args: [], rows: true };
    case "handle_stripe_event":
      return { fn: "handle_stripe_event", args: [["p_event", "jsonb", js(c.event)]] };
    case "attribute_payment":
      return {
        fn: "attribute_payment",
        args: [["p_stripe_checkout_session_id", "text", c.session], ["p_user_id", "uuid", c.userId]],
      };
    default:
      return null;
  }
}

/** `select public.fn(p_a => $1::type, ...)`: jsonb goes in as text (the raw JSON, like the webhook). */
export function rpcSql(fn: string, args: Arg[], rows = false): { text: string; params: unknown[] } {
  const present = args.filter(([, , v]) => v !== undefined);
  const list = present.map(([name, type], i) => `${name} => $${i + 1}::text::${type}`).join(", ");
  return {
    text: rows
      ? `select coalesce(jsonb_agg(to_jsonb(r)), '[]') as r from public.${fn}(${list}) r`
      : `select public.${fn}(${list}) as r`,
    params: present.map(([, , v]) => v),
  };
}

export const CALL_DEADLINE_MS = 15_000;

const NOW_US = "(extract(epoch from now()) * 1000000)::bigint::text";

/** Sets up the caller in an open transaction and returns the transaction's now(). */
export async function enter(tx: Sql, caller: Caller): Promise<Us> {
  const { role, claims } = claimsFor(caller);
  const [row] = await tx.unsafe(
    `select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), ${NOW_US} as t`,
    [role, JSON.stringify(claims)],
  );
  return Number(row.t);
}

/** Service writes an operator makes with the service key (PostgREST table access). */
async function serviceWrite(tx: Sql, c: Call, learned: { subId?: string }): Promise<Json> {
  if (c.op === "insert_subscription") {
    const [row] = await tx`
      insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor, next_cycle_number)
      values (${c.userId}::uuid, ${c.planId}, ${c.status}, ${fromUs(c.anchor)}::text::timestamptz, ${
      c.nextCycle ?? 1
    })
      returning id`;
    learned.subId = row.id;
    return { subscription_id: row.id };
  }
  if (c.op === "move_subscription") {
    await tx`update public.customer_subscriptions set user_id = ${c.toUserId}::uuid where id = ${c.subId}::uuid`;
    return {};
  }
  if (c.op === "set_feature") {
    await tx`update public.token_features set active = ${c.active} where id = ${c.feature}`;
    return {};
  }
  throw new Error(`not a service write: ${c.op}`);
}

/** Runs one call in its own transaction. `hook` runs inside it before the call (barriers). */
export async function run(
  sql: Sql,
  c: Call,
  hook?: (tx: Sql) => Promise<void>,
): Promise<{ t: Us; outcome: Outcome }> {
  let t = 0;
  try {
    const value = await sql.begin(async (tx) => {
      const caller = "caller" in c ? c.caller : { kind: "service" as const };
      t = await enter(tx as unknown as Sql, caller);
      if (hook) await hook(tx as unknown as Sql);
      const rpc = rpcOf(c);
      if (!rpc) return await serviceWrite(tx as unknown as Sql, c, {});
      const q = rpcSql(rpc.fn, rpc.args, rpc.rows);
      const query = tx.unsafe(q.text, q.params as never[]);
      // A call that has not answered after CALL_DEADLINE_MS is cancelled (57014, reported as a
      // failure): a runaway loop must fail the suite, not hang it. (statement_timeout alone did
      // not stop issue 9.8's p_as_of = infinity loop when it came over the extended protocol.)
      const deadline = setTimeout(() => query.cancel(), CALL_DEADLINE_MS);
      try {
        const [row] = await query;
        return row.r as Json;
      } finally {
        clearTimeout(deadline);
      }
    });
    return { t, outcome: { ok: true, value } };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (!err.code || err.code.startsWith("ECONN") || err.code === "CONNECTION_CLOSED") throw e;
    return { t, outcome: { ok: false, code: err.code, message: err.message ?? "" } };
  }
}

/** now() of a fresh transaction, in microseconds. */
export async function dbNow(sql: Sql): Promise<Us> {
  const [row] = await sql.unsafe(`select ${NOW_US} as t`);
  return Number(row.t);
}
