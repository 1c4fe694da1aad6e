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
    | "opening_balance";
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
  next_expiry: string | null;
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

/** handle_stripe_event's result: the body the stripe-webhook function answers Stripe with. */
export interface StripeEventResult {
  event_id: string;
  type: string;
  /** unattributed: a paid pack checkout naming no known user, kept for attribute_payment. */
  status: "processed" | "ignored" | "unattributed" | "duplicate";
  result: Record<string, unknown>;
}

// attribute_payment returns a TransactionResult (the purchase, "replayed" when called again).

/** SQLSTATEs the ledger raises, as supabase-js reports them in `error.code`. */
export const LedgerErrorCode = {
  invalidArgument: "22023",
  notAllowed: "42501",
  insufficientTokens: "PT402",
  idempotencyKeyReused: "PT409",
} as const;
