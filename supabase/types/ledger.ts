// Shapes of the ledger RPCs' jsonb results. The generated `Database` types say `Json` for a
// jsonb result; these interfaces say what is inside. Kept by hand next to the generated file
// and checked by the docs examples (`deno check docs/examples/`).

export interface RecordUsageResult {
  usage_id: string;
  user_id: string;
  tokens: number;
  balance_before: number;
  balance_after: number;
  replayed: boolean;
}

export interface TransactionResult {
  transaction_id: string;
  user_id: string;
  transaction_type:
    | "purchase"
    | "admin_grant"
    | "admin_deduction"
    | "subscription_grant"
    | "trial_grant"
    | "refund"
    | "dispute"
    | "dispute_reversal"
    | "expiration"
    | "opening_balance"
    | "void";
  token_amount: number;
  balance_before: number;
  balance_after: number;
  replayed: boolean;
}

export interface TokenLot {
  source: string;
  remaining: number;
  expires_at: string | null;
}

export interface TokenBalance {
  user_id: string;
  balance: number;
  debt: number;
  held: number;
  available: number;
  lots: TokenLot[];
  /** When the soonest live lot lapses (its tokens stop counting then, before any sweep). */
  next_expiry: string | null;
  /** When the next drip comes due (subscriptions that drip: active, trialing); null: none. */
  next_drip_at: string | null;
}

export interface ReserveResult {
  hold_id: string;
  user_id: string;
  tokens_held: number;
  expires_at: string;
  available_after: number;
  status: "held" | "settled" | "released" | "expired";
  replayed: boolean;
}

export interface SettleResult {
  hold_id: string;
  usage_id: string | null;
  user_id: string;
  tokens: number;
  balance_before: number;
  balance_after: number;
  released: number;
  overage_tokens: number;
  replayed: boolean;
}

export interface ReleaseResult {
  hold_id: string;
  user_id: string;
  status: "released";
  released: number;
  available_after: number;
  replayed: boolean;
}

export interface DripResult {
  subscription_id: string;
  cycles_issued: number;
  tokens_dripped: number;
  tokens_expired: number;
  balance_after: number;
}

/** run_due_drips: one batch. */
export interface DueDripsResult {
  /** subscriptions taken, the failed ones included */
  subscriptions: number;
  cycles_issued: number;
  tokens_dripped: number;
  tokens_expired: number;
  /** subscriptions whose drip failed: undone, recorded in drip_failures and set aside */
  subscriptions_failed: number;
}

/** handle_stripe_event's result: the body the stripe-webhook function answers Stripe with. */
export interface StripeEventResult {
  event_id: string;
  type: string;
  /** unattributed: a paid pack checkout naming no known user, kept for attribute_payment. */
  status: "processed" | "ignored" | "unattributed" | "duplicate";
  result: Record<string, unknown>;
}

// attribute_payment returns a TransactionResult (the purchase, "replayed" when called again).

/** void_grant's result: the void transaction, and what happened to the grant's tokens. */
export interface VoidResult extends TransactionResult {
  voided_transaction_id: string;
  /** what the grant's lot still held and left the balance now (token_amount is its negative) */
  tokens_voided: number;
  /** what the lot no longer held (spent, expired, clawed back, repaid debt): never taken back */
  tokens_spent: number;
}

/** One entry of get_token_statement: a ledger row that changed the user's tokens. */
export interface StatementEntry {
  /** null for an archived month of usage */
  entry_id: string | null;
  /** archived_usage: a month whose usage rows were archived (archive_usage), as one entry */
  kind: "transaction" | "usage" | "drip" | "archived_usage";
  /** the transaction_type of a transaction; "usage" or "drip" for the others */
  type: TransactionResult["transaction_type"] | "usage" | "drip" | string;
  at: string;
  /** the change: positive for credits, negative for spends (null for some legacy rows) */
  tokens: number | null;
  balance_before: number | null;
  balance_after: number | null;
  /** a row from before the upgrade, outside the ledger's arithmetic */
  legacy: boolean;
  /** what the entry was (only the fields it has): source, reason, pack_id, amount_cents,
   * currency, Stripe ids, expires_at, related_transaction_id, actor_id, idempotency_key,
   * corrects_usage_id, metadata (transactions); feature, model, hold_id, overage_tokens
   * (usage); subscription_id, plan_id, cycle_number, drip_amount, rollover_from_previous,
   * rollover_cycles_count, expired_tokens, billing_period_start/end (drips); period_start,
   * period_end, usage_rows, legacy_rows, archived_table (archived_usage) */
  details: Record<string, unknown>;
}

export interface Statement {
  user_id: string;
  /** newest first */
  entries: StatementEntry[];
  /** pass it as p_cursor for the next (older) page; null on the last page */
  next_cursor: string | null;
}

export interface BalanceAt {
  user_id: string;
  at: string;
  balance: number;
  debt: number;
  held: number;
  available: number;
  /** live lots at that moment, in burn order */
  lots: (TokenLot & { lot_id: string })[];
  /** tokens of lots lapsed by then but not yet swept: balance = sum(lots) + lapsed - debt */
  lapsed: number;
  /** the newest entry at or before the moment (null before the first) */
  last_entry: { entry_id: string | null; kind: StatementEntry["kind"]; at: string } | null;
}

export interface LowBalanceThreshold {
  user_id: string;
  threshold: number;
  /** true: the user set none and the default applies */
  is_default: boolean;
  default_threshold: number;
  min: number;
  max: number;
}

/** SQLSTATEs the ledger raises, as supabase-js reports them in `error.code`. */
export const LedgerErrorCode = {
  invalidArgument: "22023",
  notAllowed: "42501",
  insufficientTokens: "PT402",
  idempotencyKeyReused: "PT409",
} as const;
