// supabase-js calls of the ledger RPCs, type-checked against the generated types by
// `npm test` (deno check docs/examples/). Not run: they need PostgREST.
import { createClient } from "@supabase/supabase-js";
import type { Database } from "../../supabase/types/database.types.ts";
import {
  LedgerErrorCode,
  type RecordUsageResult,
  type TokenBalance,
  type TransactionResult,
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

// A server (service role key) grants a trial that expires in 14 days.
export async function grantTrial(userId: string): Promise<TransactionResult> {
  const service = createClient<Database>(
    Deno.env.get("SUPABASE_URL") ?? "http://127.0.0.1:54321",
    Deno.env.get("SUPABASE_SERVICE_ROLE_KEY") ?? "",
  );
  const { data, error } = await service.rpc("grant_tokens", {
    p_user_id: userId,
    p_amount: 50_000,
    p_type: "trial_grant",
    p_idempotency_key: `trial:${userId}`,
    p_source: "signup",
    p_expires_at: new Date(Date.now() + 14 * 86_400_000).toISOString(),
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
