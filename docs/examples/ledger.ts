// supabase-js calls of the ledger RPCs and tables. Run against the local stack by `npm test`
// (supabase/tests/deno/docs_examples.test.ts), type-checked against the generated types.
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
import type { LedgerClient } from "./client.ts";

// A signed-in user records its own usage (p_user_id omitted: the JWT decides who).
export async function recordChatUsage(
  supabase: LedgerClient,
  tokens: number,
  requestId: string,
): Promise<RecordUsageResult | null> {
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

// The user's balance: what it can spend (`available`), its lots, and when the numbers change
// next without a call (`next_expiry`, `next_drip_at`).
export async function myBalance(supabase: LedgerClient): Promise<TokenBalance> {
  const { data, error } = await supabase.rpc("get_token_balance", {});
  if (error) throw error;
  return data as unknown as TokenBalance;
}

// A server (service key) grants a campaign's bonus tokens, which expire when the campaign ends.
// Every argument must be the same on a retry, or the retry is PT409 instead of a replay: the
// expiry is the campaign's end, never derived from the clock of this call (a `now + 14 days`
// differs on every retry). (Sign-up trials need no call: the database grants them on sign-up,
// docs/api.md#sign-up-trials.)
export async function grantCampaignBonus(
  service: LedgerClient,
  userId: string,
  campaign: { id: string; tokens: number; endsAt: string },
): Promise<TransactionResult> {
  const { data, error } = await service.rpc("grant_tokens", {
    p_user_id: userId,
    p_amount: campaign.tokens,
    p_type: "admin_grant",
    p_idempotency_key: `campaign:${campaign.id}:${userId}`, // once per user and campaign; a retry replays it
    p_source: "campaign",
    p_expires_at: campaign.endsAt,
    p_metadata: { campaign: campaign.id },
  });
  if (error) throw error;
  return data as unknown as TransactionResult;
}

// Users read their own ledger rows through RLS.
export async function myRecentUsage(supabase: LedgerClient) {
  const { data, error } = await supabase
    .from("token_usage")
    .select("feature, tokens, balance_after, created_at")
    .order("created_at", { ascending: false })
    .limit(20);
  if (error) throw error;
  return data;
}

// "Why is my balance X?": the user's own statement, newest first, page by page.
export async function myStatement(supabase: LedgerClient, cursor: string | null = null): Promise<Statement> {
  const { data, error } = await supabase.rpc("get_token_statement", {
    p_limit: 50,
    p_cursor: cursor ?? undefined,
  });
  if (error) throw error;
  return data as unknown as Statement;
}

// The user's balance as it was at a past moment (e.g. the start of the month).
export async function myBalanceAt(supabase: LedgerClient, at: Date): Promise<BalanceAt> {
  const { data, error } = await supabase.rpc("get_token_balance_at", { p_at: at.toISOString() });
  if (error) throw error;
  return data as unknown as BalanceAt;
}

// The user chooses when to be warned (null: the default). Outside the limits: 22023.
export async function setMyLowBalanceThreshold(
  supabase: LedgerClient,
  tokens: number | null,
): Promise<LowBalanceThreshold> {
  const { data, error } = await supabase.rpc("set_low_balance_threshold", { p_threshold: tokens as number });
  if (error) throw error;
  return data as unknown as LowBalanceThreshold;
}

// Low-balance alerts as they are written (Supabase Realtime; RLS lets each user see their own).
export function onLowBalance(supabase: LedgerClient, userId: string, notify: (availableAfter: number) => void) {
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
  supabase: LedgerClient,
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
