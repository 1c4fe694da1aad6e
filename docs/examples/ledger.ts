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
