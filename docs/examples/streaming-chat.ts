// A streaming chat completion paid for with a hold (docs/holds.md): reserve the estimate,
// stream, settle the measured tokens, release on error. Run against the local stack with a
// fake model by `npm run demo:stream` (scripts/demo-stream.ts) and by `npm test`.
//
// The model is passed in as `StreamChat`, so the pattern does not depend on one vendor's SDK:
// any streaming API that reports its token usage at the end fits.
import type { Database } from "../../supabase/types/database.types.ts";
import {
  LedgerErrorCode,
  type ReleaseResult,
  type ReserveResult,
  type SettleResult,
} from "../../supabase/types/ledger.ts";
import type { LedgerClient } from "./client.ts";

type HoldRow = Database["public"]["Tables"]["token_holds"]["Row"];
type Feature = Database["public"]["Tables"]["token_features"]["Row"]["id"];

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** What a streaming model yields: text as it comes, then the tokens it really used. */
export type ChatEvent =
  | { type: "delta"; text: string }
  | { type: "usage"; totalTokens: number };

export type StreamChat = (
  messages: ChatMessage[],
  options: { model: string; maxOutputTokens: number; signal: AbortSignal },
) => AsyncIterable<ChatEvent>;

export type ChatOutcome =
  | { ok: true; text: string; settle: SettleResult }
  | { ok: false; reason: "insufficient_tokens"; available: number | null }
  | { ok: false; reason: "hold_lapsed"; text: string }
  | { ok: false; reason: "failed"; error: unknown };

const FEATURE: Feature = "chat";

/** A rough upper bound before the call: ~4 characters a token for the prompt, plus the most the model may write. */
export function estimateTokens(messages: ChatMessage[], maxOutputTokens: number): number {
  const promptChars = messages.reduce((n, m) => n + m.content.length, 0);
  return Math.ceil(promptChars / 4) + 16 * messages.length + maxOutputTokens;
}

/** The `available` number in a PT402's detail ("balance: 120, required: 900"). */
function availableFrom(details: string | undefined): number | null {
  const m = /balance: (-?\d+)/.exec(details ?? "");
  return m ? Number(m[1]) : null;
}

/**
 * settle_hold and release_hold are safe to repeat (a second call replays the first), so a
 * network error is retried; an error the database raised is not (it would raise it again).
 */
async function retrying<T>(
  call: () => PromiseLike<{ data: unknown; error: { code?: string } | null }>,
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    const { data, error } = await call();
    if (!error) return data as T;
    const fromDatabase = /^(22023|42501|PT402|PT409)$/.test(error.code ?? "");
    if (fromDatabase || attempt === 4) throw error;
    await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
  }
}

/**
 * One chat turn for the signed-in user. `messageId` identifies the turn: it makes the
 * reservation idempotent, so a retried request finds its hold instead of holding twice.
 */
export async function streamChat(
  supabase: LedgerClient,
  streamModel: StreamChat,
  messages: ChatMessage[],
  messageId: string,
  onText: (text: string) => void,
  { model = "my-model", maxOutputTokens = 1024, signal = new AbortController().signal } = {},
): Promise<ChatOutcome> {
  // 1. Reserve the estimate. PT402: the user cannot afford this call; nothing was held.
  const estimate = estimateTokens(messages, maxOutputTokens);
  const reserved = await supabase.rpc("reserve_tokens", {
    p_feature: FEATURE,
    p_tokens: estimate,
    p_idempotency_key: `chat:${messageId}`,
    p_ttl_seconds: 300, // longer than the longest stream, so the hold cannot lapse mid-stream
  });
  if (reserved.error?.code === LedgerErrorCode.insufficientTokens) {
    return { ok: false, reason: "insufficient_tokens", available: availableFrom(reserved.error.details) };
  }
  if (reserved.error) return { ok: false, reason: "failed", error: reserved.error };
  const hold = reserved.data as unknown as ReserveResult;
  // A replay (the same messageId again) returns the turn's first hold. Still "held": an earlier
  // attempt died before closing it, so this attempt streams under that hold. Otherwise the
  // turn already finished (settled, released or expired): do not run it again.
  if (hold.status !== "held") {
    return { ok: false, reason: "failed", error: new Error(`turn ${messageId} is already ${hold.status}`) };
  }

  // 2. Stream. Count what was shown, in case the stream breaks before it reports its usage.
  let text = "";
  let measured: number | null = null;
  try {
    for await (const event of streamModel(messages, { model, maxOutputTokens, signal })) {
      if (event.type === "delta") {
        text += event.text;
        onText(event.text);
      } else {
        measured = event.totalTokens;
      }
    }
  } catch (error) {
    // 4. On error: nothing produced, release the hold; something produced, settle that much
    //    (the model did the work, and the provider bills it). If this fails too, the hold
    //    stops counting at its expires_at anyway.
    try {
      if (text === "") {
        await retrying<ReleaseResult>(() => supabase.rpc("release_hold", { p_hold_id: hold.hold_id }));
      } else {
        await settle(
          supabase,
          hold,
          estimateTokens(messages, 0) + Math.ceil(text.length / 4),
          model,
          messageId,
          true,
        );
      }
    } catch (closeError) {
      console.error(`turn ${messageId}: could not close hold ${hold.hold_id}`, closeError);
    }
    return { ok: false, reason: "failed", error };
  }

  // 3. Settle the measured tokens. Above the hold the extra comes from the free balance, then
  //    becomes debt (overage_tokens > 0): the work is done, it is never refused.
  const used = measured ?? estimateTokens(messages, 0) + Math.ceil(text.length / 4);
  try {
    return {
      ok: true,
      text,
      settle: await settle(supabase, hold, used, model, messageId, measured === null),
    };
  } catch (error) {
    // The hold lapsed (stream longer than p_ttl_seconds) and its tokens were spent meanwhile.
    if ((error as { code?: string }).code === LedgerErrorCode.insufficientTokens) {
      return { ok: false, reason: "hold_lapsed", text };
    }
    return { ok: false, reason: "failed", error };
  }
}

function settle(
  supabase: LedgerClient,
  hold: ReserveResult,
  tokens: number,
  model: string,
  messageId: string,
  estimated: boolean,
) {
  return retrying<SettleResult>(() =>
    supabase.rpc("settle_hold", {
      p_hold_id: hold.hold_id,
      p_tokens_used: tokens,
      p_model: model,
      p_metadata: { message_id: messageId, estimated },
    })
  ).then((result) => {
    if (result.overage_tokens > 0) {
      console.warn(`turn ${messageId}: ${result.overage_tokens} tokens beyond the hold became debt`);
    }
    return result;
  });
}

/** The user's open holds (RLS shows only the user's own rows). */
export async function myActiveHolds(supabase: LedgerClient): Promise<
  Pick<HoldRow, "id" | "feature" | "tokens_held" | "expires_at">[]
> {
  const { data, error } = await supabase
    .from("token_holds")
    .select("id, feature, tokens_held, expires_at")
    .eq("status", "held")
    .gt("expires_at", new Date().toISOString())
    .order("expires_at");
  if (error) throw error;
  return data;
}
