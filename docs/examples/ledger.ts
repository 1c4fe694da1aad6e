// supabase-js calls of the ledger RPCs, type-checked against the generated types by
// `npm test` (deno check docs/examples/). Not run: they need PostgREST.
import { createClient } from "@supabase/supabase-js";
import type { Database } from "../../supabase/types/database.types.ts";
import {
  type BalanceAt,
  LedgerErrorCode,
  type LowBalanceThreshold,
  type RecordUsageResult,
  type Statement,
  type TokenBalance,
  type TransactionResult,
  type VoidResult,
} from "../../supabase/types/ledger.ts";
import { supabase } from "./client.ts";

// A signed-in user records its own usage (p_user_id omitted: the JWT decides who).
export async function recordChatUsage(tokens: number, requestId: string): Promise<RecordUsageResult | null> {
  const { data, error } = await supabase.rpc("record_usage", {
    p_feature: "chat",
    p_tokens: tokens,
    p_idempotency_key: `chat:${requestId}`, // the same key on retry: the first result comes back
    p_model: "gpt-4o-mini",
    p_metadata: { request_id: requestId },
  });
  if (error?.code === LedgerErrorCode.insufficientTokens) return null; // HTTP 402: ask the user to top up
  if (error) throw error;
  return data as unknown as RecordUsageResult;
}

// The user's balance, lots and next expiry.
export async function myBalance(): Promise<TokenBalance> {
  const { data, error } = await supabase.rpc("get_token_balance", {});
  if (error) throw error;
  return data as unknown as TokenBalance;
}

// A server (service role key) grants a trial that expires 14 days after the user signed up.
// Every argument must be the same on a retry, or the retry is PT409 instead of a replay: the
// expiry is derived from the user's sign-up time, never from the clock of this call. (A trial
// granted more than 14 days after sign-up is refused: p_expires_at must be in the future.)
export async function grantTrial(userId: string): Promise<TransactionResult> {
  const service = createClient<Database>(
    Deno.env.get("SUPABASE_URL") ?? "http://127.0.0.1:54321",
    Deno.env.get("SUPABASE_SERVICE_ROLE_KEY") ?? "",
  );
  const found = await service.auth.admin.getUserById(userId);
  if (found.error) throw found.error;
  const signedUp = Date.parse(found.data.user.created_at);
  const { data, error } = await service.rpc("grant_tokens", {
    p_user_id: userId,
    p_amount: 50_000,
    p_type: "trial_grant",
    p_idempotency_key: `trial:${userId}`, // one trial per user; a retry replays it
    p_source: "signup",
    p_expires_at: new Date(signedUp + 14 * 86_400_000).toISOString(),
  });
  if (error) throw error;
  return data as unknown as TransactionResult;
}

// Users read their own ledger rows through RLS.
export async function myRecentUsage() {
  const { data, error } = await supabase
    .from("token_usage")
    .select("feature, tokens, balance_after, created_at")
    .order("created_at", { ascending: false })
    .limit(20);
  if (error) throw error;
  return data;
}

// "Why is my balance X?": the user's own statement, newest first, page by page.
export async function myStatement(cursor: string | null = null): Promise<Statement> {
  const { data, error } = await supabase.rpc("get_token_statement", {
    p_limit: 50,
    p_cursor: cursor ?? undefined,
  });
  if (error) throw error;
  return data as unknown as Statement;
}

// The user's balance as it was at a past moment (e.g. the start of the month).
export async function myBalanceAt(at: Date): Promise<BalanceAt> {
  const { data, error } = await supabase.rpc("get_token_balance_at", { p_at: at.toISOString() });
  if (error) throw error;
  return data as unknown as BalanceAt;
}

// The user chooses when to be warned (null: the default). Outside the limits: 22023.
export async function setMyLowBalanceThreshold(tokens: number | null): Promise<LowBalanceThreshold> {
  const { data, error } = await supabase.rpc("set_low_balance_threshold", { p_threshold: tokens as number });
  if (error) throw error;
  return data as unknown as LowBalanceThreshold;
}

// Low-balance alerts as they are written (Supabase Realtime; RLS lets each user see their own).
export function onLowBalance(userId: string, notify: (availableAfter: number) => void) {
  return supabase
    .channel(`token-alerts:${userId}`)
    .on("postgres_changes", {
      event: "INSERT",
      schema: "public",
      table: "token_alerts",
      filter: `user_id=eq.${userId}`,
    }, (payload) => notify(Number((payload.new as { available_after: number }).available_after)))
    .subscribe();
}

// An admin (or the service) voids one grant or purchase: what it still holds leaves, what was
// spent stays spent. The key makes a retry safe.
export async function voidGrant(
  transactionId: string,
  reason: string,
  actionId: string,
): Promise<VoidResult> {
  const { data, error } = await supabase.rpc("void_grant", {
    p_transaction_id: transactionId,
    p_reason: reason,
    p_idempotency_key: `void-grant:${actionId}`,
  });
  if (error) throw error;
  return data as unknown as VoidResult;
}
