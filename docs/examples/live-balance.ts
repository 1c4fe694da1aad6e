// A live balance: subscribe to the signed-in user's own token_balances row with Supabase
// Realtime and show what the user can spend (docs/api.md#live-balances).
//
// The row says it itself while nothing of the user falls due: available = max(balance - held,
// 0), exact as long as now < next_due_at (no lot lapses, no drip comes due and no hold lapses
// before then). Past next_due_at the row may be behind until the next change writes it, so
// the watch reads get_token_balance instead. RLS decides what the channel receives: the user's
// own row, never anyone else's.
//
// Realtime needs Supabase's Realtime server (`supabase start`, or a Supabase project); the
// local `npm start` stack has none, so there the channel never joins and only the reads run
// (supabase/tests/deno/docs_examples.test.ts runs those).
import type { RealtimeChannel } from "@supabase/supabase-js";
import type { Database } from "../../supabase/types/database.types.ts";
import type { TokenBalance } from "../../supabase/types/ledger.ts";
import type { LedgerClient } from "./client.ts";

export type BalanceRow = Database["public"]["Tables"]["token_balances"]["Row"];

// setTimeout takes at most 2^31 - 1 ms (~24.8 days): a later moment is checked again sooner.
const MAX_WAIT_MS = 24 * 3600 * 1000;

/** A timestamptz as Postgres sends it ("infinity" and "-infinity" included), in ms. */
function ms(t: string | null): number {
  if (t === null || t === "infinity") return Infinity;
  if (t === "-infinity") return -Infinity;
  return Date.parse(t);
}

/** What the row says the user can spend, or null when the row may be behind (something fell due). */
export function availableFromRow(row: BalanceRow, now = Date.now()): number | null {
  return ms(row.next_due_at) > now ? Math.max(row.balance - row.held, 0) : null;
}

export interface BalanceWatch {
  /** Read get_token_balance now and report it. */
  refresh(): Promise<TokenBalance>;
  /** Leave the channel and stop the timer. */
  stop(): Promise<void>;
  channel: RealtimeChannel;
}

/** Reports what the user can spend on subscribing, on every change of the row and when something falls due. */
export function watchBalance(
  supabase: LedgerClient,
  userId: string,
  onAvailable: (available: number) => void,
  onError: (error: unknown) => void = console.error,
): BalanceWatch {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  // Read again at `at` (a second late, so that what fell due has happened).
  function wakeAt(at: number) {
    clearTimeout(timer);
    const wait = at - Date.now() + 1000;
    if (!stopped && Number.isFinite(wait)) {
      timer = setTimeout(() => refresh().catch(onError), Math.min(Math.max(wait, 0), MAX_WAIT_MS));
    }
  }

  async function refresh(): Promise<TokenBalance> {
    const { data, error } = await supabase.rpc("get_token_balance", {});
    if (error) throw error;
    const balance = data as unknown as TokenBalance;
    if (stopped) return balance;
    onAvailable(balance.available);
    wakeAt(Math.min(ms(balance.next_expiry), ms(balance.next_drip_at)));
    return balance;
  }

  function onRow(row: BalanceRow) {
    const available = availableFromRow(row);
    if (available === null) {
      refresh().catch(onError);
    } else {
      onAvailable(available);
      wakeAt(ms(row.next_due_at));
    }
  }

  const channel = supabase
    .channel(`token-balance:${userId}`)
    .on<BalanceRow>(
      "postgres_changes",
      // The filter spares the server work; RLS alone would already keep other users' rows out.
      { event: "*", schema: "public", table: "token_balances", filter: `user_id=eq.${userId}` },
      (payload) => {
        if (payload.eventType === "DELETE") onAvailable(0); // the user is gone
        else onRow(payload.new);
      },
    )
    .subscribe((status, err) => {
      if (status === "SUBSCRIBED") refresh().catch(onError); // changes before this moment are in it
      else if (err) onError(err);
    });

  return {
    refresh,
    channel,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await supabase.removeChannel(channel);
    },
  };
}
