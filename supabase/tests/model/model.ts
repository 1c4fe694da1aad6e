// A reference model of the token ledger's rules, in plain TypeScript: what every public RPC and
// every Stripe event the ledger handles should do, written from docs/api.md, docs/holds.md,
// docs/stripe.md and the lead's decisions (TEAM.md). The randomized suite runs the same
// commands against the database and against this model and compares them after every step.
//
// Time is in microseconds since the epoch (Postgres' resolution; exact in a JS number until
// the year 2255). Every call is applied at one instant `t`: the caller's now() (the suite reads
// it inside the call's transaction) or, for the service functions that take one, p_as_of.
//
// The model is deliberately a straight transcription of the rules, not of the SQL: lots and
// holds are arrays, burn order is a sort, the refund formula is the one in docs/stripe.md.
import { known } from "./known_bugs.ts";

export type Us = number;
export const DAY: Us = 86_400_000_000;
export const SECOND: Us = 1_000_000;
export const MAX_TOKENS = 1e15;
export const RESERVED_PREFIXES = [
  "checkout:",
  "invoice:",
  "stripe:",
  "expiration:",
  "opening_balance:",
  "signup:",
  "hold:",
  "void:",
  "legacy:",
];
/** How far p_as_of may be from now() once issue 9.8's bound is in (the suite stays well inside). */
export const AS_OF_WINDOW: Us = 366 * DAY;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Caller =
  | { kind: "service" }
  | { kind: "user"; userId: string; admin?: boolean }
  | { kind: "anon" };

export interface Lot {
  seq: number; // creation order: the tie-break the model uses where the database uses the lot id
  userId: string;
  source: string;
  original: number;
  remaining: number;
  expiresAt: Us | null;
  createdAt: Us;
  subId: string | null;
  purchaseKey: string | null;
}

export interface Tx {
  key: string;
  hash: string;
  userId: string;
  type: string;
  amount: number;
  balanceBefore: number;
  balanceAfter: number;
  pi: string | null;
  amountCents: number | null;
  lotSeq: number | null;
  related: string | null; // purchase key of a clawback / reinstatement
  packId?: string | null;
}

export interface Hold {
  id: string; // the database's id, learned from the reserve result
  userId: string;
  feature: string;
  tokensHeld: number;
  key: string;
  hash: string;
  expiresAt: Us;
  status: "held" | "settled" | "released" | "expired";
  availableAfter: number;
  tokensUsed: number | null;
  usage: { tokens: number; overage: number; balanceBefore: number; balanceAfter: number } | null;
}

export interface Plan {
  id: string;
  priceId: string;
  dripTokens: number;
  interval: Us;
  maxRolloverCycles: number;
  maxRolloverTokens: number | null;
  annualGrant: number | null;
}

export interface Sub {
  id: string; // the database's id
  stripeId: string | null;
  customer: string | null;
  userId: string;
  planId: string;
  status: string;
  anchor: Us;
  nextCycle: number;
  nextDripAt: Us | null;
  lastEventAt: Us | null;
  cycles: number; // token_drips rows written
}

export interface ClawbackState {
  refunded: number;
  disputeId: string | null;
  disputeCents: number;
  disputeActive: boolean;
  disputeClosed: boolean;
}

export interface UserState {
  debt: number;
  usage: Map<string, { hash: string; tokens: number; balanceBefore: number; balanceAfter: number }>;
  counts: { usage: number; transactions: number; drips: number; holds: number };
}

export interface State {
  seq: number;
  users: Map<string, UserState>;
  lots: Lot[];
  txs: Map<string, Tx>; // token_transactions by idempotency key (one global namespace)
  holds: Hold[];
  subs: Sub[];
  customers: Map<string, string>; // stripe customer -> user
  events: Map<string, Json>; // stripe_events: id -> recorded result
  clawbacks: Map<string, ClawbackState>; // by purchase key
  features: Map<string, boolean>;
  packs: Map<string, { tokens: number; priceId: string; active: boolean }>;
  plans: Map<string, Plan>;
  /** Stripe subscriptions whose event named no known user (kept: their invoices are final). */
  unattributedSubs: Set<string>;
  /** Paid checkouts that named no known user, kept for an operator (decision on 9.2), by session. */
  unattributed: Map<
    string,
    { pi: string | null; session: Json; attributedTo: string | null; refunded: boolean }
  >;
}

/** What a call should come to: a value (only the fields listed are compared) or a SQLSTATE. */
export type Expected = { ok: true; value: Record<string, Json> } | { ok: false; code: string };

export class Refused extends Error {
  constructor(public code: string, message: string) {
    super(`${code}: ${message}`);
  }
}
const refuse = (code: string, message: string): never => {
  throw new Refused(code, message);
};
const invalid = (message: string) => refuse("22023", message);

// ---------------------------------------------------------------------------------------------
// JSON as jsonb sees it: equal objects compare equal whatever their key order.
// ---------------------------------------------------------------------------------------------

export function canonical(value: Json | undefined): string {
  if (value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${
      Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")
    }}`;
  }
  return JSON.stringify(value);
}

/** The byte length of jsonb's text rendering (`{"a": 1, "b": [1, 2]}`): what the 16 KiB cap counts. */
export function jsonbTextBytes(value: Json): number {
  const render = (v: Json): string => {
    if (Array.isArray(v)) return `[${v.map(render).join(", ")}]`;
    if (v !== null && typeof v === "object") {
      return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}: ${render(v[k])}`).join(", ")}}`;
    }
    return JSON.stringify(v);
  };
  return new TextEncoder().encode(render(value)).length;
}

/** A timestamp as Postgres renders it in JSON ("2026-11-28T10:00:00.123456+00:00") in microseconds. */
export function toUs(text: string): Us {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d(?::?\d\d)?)$/.exec(
    text.replace(" ", "T"),
  );
  if (!m) throw new Error(`not a timestamp: ${text}`);
  const zone = m[3] === "Z" ? "Z" : m[3].length === 3 ? `${m[3]}:00` : m[3];
  return Date.parse(`${m[1]}${zone}`) * 1000 + Number((m[2] ?? "").padEnd(6, "0"));
}
export const fromUs = (us: Us) => {
  const ms = Math.floor(us / 1000);
  return new Date(ms).toISOString().replace(
    /\.\d{3}Z$/,
    `.${String(us - ms * 1000 + (ms % 1000) * 1000).padStart(6, "0")}+00:00`,
  );
};

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

export function emptyState(plans: Plan[], packs: [string, number, string][], features: string[]): State {
  return {
    seq: 0,
    users: new Map(),
    lots: [],
    txs: new Map(),
    holds: [],
    subs: [],
    customers: new Map(),
    events: new Map(),
    clawbacks: new Map(),
    features: new Map(features.map((f) => [f, true])),
    packs: new Map(packs.map(([id, tokens, priceId]) => [id, { tokens, priceId, active: true }])),
    plans: new Map(plans.map((p) => [p.id, p])),
    unattributedSubs: new Set(),
    unattributed: new Map(),
  };
}

export const clone = (s: State): State => structuredClone(s);

export function addUser(s: State, userId: string) {
  s.users.set(userId, {
    debt: 0,
    usage: new Map(),
    counts: { usage: 0, transactions: 0, drips: 0, holds: 0 },
  });
}

const userOf = (s: State, id: string) => s.users.get(id);

/** token_balances.balance: every lot's remaining minus debt (lapsed lots count until swept). */
export function storedBalance(s: State, userId: string): number {
  const u = userOf(s, userId);
  if (!u) return 0;
  return s.lots.filter((l) => l.userId === userId).reduce((a, l) => a + l.remaining, 0) - u.debt;
}

const live = (l: Lot, t: Us) => l.remaining > 0 && (l.expiresAt === null || l.expiresAt > t);

/** Burn order: soonest expiry first, permanent lots last, oldest first on ties. */
export function burnOrder(a: Lot, b: Lot): number {
  if (a.expiresAt !== b.expiresAt) {
    if (a.expiresAt === null) return 1;
    if (b.expiresAt === null) return -1;
    return a.expiresAt - b.expiresAt;
  }
  return a.createdAt - b.createdAt || a.seq - b.seq;
}

export function liveLots(s: State, userId: string, t: Us): Lot[] {
  return s.lots.filter((l) => l.userId === userId && live(l, t)).sort(burnOrder);
}

export function held(s: State, userId: string, t: Us, except?: string): number {
  return s.holds.filter((h) =>
    h.userId === userId && h.status === "held" && h.expiresAt > t && h.id !== except
  )
    .reduce((a, h) => a + h.tokensHeld, 0);
}

/** get_token_balance at t. */
export function snapshot(s: State, userId: string, t: Us) {
  const u = userOf(s, userId);
  const lots = liveLots(s, userId, t);
  const debt = u?.debt ?? 0;
  const balance = lots.reduce((a, l) => a + l.remaining, 0) - debt;
  const h = held(s, userId, t);
  const raw = balance - h;
  return {
    balance,
    debt,
    held: h,
    // Decision: `available` is never reported below 0. Main before the 9.4 fix reports it raw.
    available: known("KNOWN_BUG_9_4_HOLD_VS_EXPIRY") ? raw : Math.max(raw, 0),
    lots: lots.map((l) => ({ source: l.source, remaining: l.remaining, expires_at: l.expiresAt })),
  };
}

/** Burn up to `amount` from live lots, `first` (a lot seq) first. Returns what was burned. */
function burn(s: State, userId: string, amount: number, t: Us, first: number | null = null): number {
  const lots = s.lots.filter((l) => l.userId === userId && l.remaining > 0 && (live(l, t) || l.seq === first))
    .sort((a, b) => (b.seq === first ? 1 : 0) - (a.seq === first ? 1 : 0) || burnOrder(a, b));
  let left = amount;
  for (const l of lots) {
    if (left === 0) break;
    const take = Math.min(l.remaining, left);
    l.remaining -= take;
    left -= take;
  }
  return amount - left;
}

function newLot(
  s: State,
  userId: string,
  source: string,
  amount: number,
  repay: number,
  expiresAt: Us | null,
  createdAt: Us,
  extra: Partial<Lot> = {},
): Lot {
  const lot: Lot = {
    seq: ++s.seq,
    userId,
    source,
    original: amount,
    remaining: amount - repay,
    expiresAt,
    createdAt,
    subId: null,
    purchaseKey: null,
    ...extra,
  };
  s.lots.push(lot);
  return lot;
}

/** private.post_transaction: a credit repays debt first and becomes a lot; a debit burns lots. */
function post(s: State, t: Us, tx: Omit<Tx, "balanceBefore" | "balanceAfter" | "lotSeq">, opts: {
  expiresAt?: Us | null;
  allowDebt?: boolean;
  firstLot?: number | null;
  lotSource?: string;
} = {}): Tx {
  const u = userOf(s, tx.userId)!;
  const before = storedBalance(s, tx.userId);
  let lotSeq: number | null = null;
  if (tx.amount > 0) {
    const repay = Math.min(u.debt, tx.amount);
    u.debt -= repay;
    lotSeq = newLot(s, tx.userId, opts.lotSource ?? tx.type, tx.amount, repay, opts.expiresAt ?? null, t, {
      purchaseKey: tx.type === "purchase" ? tx.key : null,
    }).seq;
  } else if (tx.amount < 0) {
    const burned = burn(s, tx.userId, -tx.amount, t, opts.firstLot ?? null);
    const short = -tx.amount - burned;
    if (short > 0) {
      if (!opts.allowDebt) refuse("PT402", "insufficient tokens");
      u.debt += short;
    }
  }
  if (s.txs.has(tx.key)) refuse("23505", `duplicate key ${tx.key}`); // internal keys are not looked up first
  const row: Tx = { ...tx, balanceBefore: before, balanceAfter: before + tx.amount, lotSeq };
  s.txs.set(tx.key, row);
  u.counts.transactions++;
  return row;
}

// ---------------------------------------------------------------------------------------------
// Drips
// ---------------------------------------------------------------------------------------------

/** Process every cycle of `sub` that starts at or before `asOf`, each once. */
function dripSubscription(s: State, sub: Sub, asOf: Us) {
  let issued = 0, dripped = 0, expiredTotal = 0;
  while (sub.nextDripAt !== null && sub.nextDripAt <= asOf) {
    const plan = s.plans.get(sub.planId)!;
    const start = sub.nextDripAt;
    const end = start + plan.interval;
    if (sub.status === "incomplete") break; // waits for its first payment
    if (sub.status === "active" || sub.status === "trialing") {
      const mine = () => s.lots.filter((l) => l.subId === sub.id && l.remaining > 0);
      let expired = 0;
      for (const l of mine()) {
        if (l.expiresAt !== null && l.expiresAt <= start) {
          expired += l.remaining;
          l.remaining = 0;
        }
      }
      const carried = mine().reduce((a, l) => a + l.remaining, 0);
      const cut = Math.max(carried - (plan.maxRolloverTokens ?? carried), 0);
      let left = cut;
      for (const l of mine().sort(burnOrder)) {
        const take = Math.min(l.remaining, left);
        l.remaining -= take;
        left -= take;
      }
      const u = userOf(s, sub.userId)!;
      const repay = Math.min(u.debt, plan.dripTokens);
      if (plan.dripTokens > 0) {
        newLot(
          s,
          sub.userId,
          "drip",
          plan.dripTokens,
          repay,
          start + (plan.maxRolloverCycles + 1) * plan.interval,
          start,
          { subId: sub.id },
        );
      }
      u.debt -= repay;
      u.counts.drips++;
      sub.cycles++;
      issued++;
      dripped += plan.dripTokens;
      expiredTotal += expired + cut;
    }
    sub.nextCycle++;
    sub.nextDripAt = end;
  }
  return { cycles_issued: issued, tokens_dripped: dripped, tokens_expired: expiredTotal };
}

/** Bring a user up to t before a change: due drips (by subscription id), then lapsed lots. */
function settleUser(s: State, userId: string, t: Us): number {
  for (
    const sub of s.subs.filter((x) => x.userId === userId && x.nextDripAt !== null && x.nextDripAt <= t)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
  ) {
    dripSubscription(s, sub, t);
  }
  let expired = 0;
  for (
    const lot of s.lots.filter((l) =>
      l.userId === userId && l.remaining > 0 && l.expiresAt !== null && l.expiresAt <= t
    )
      .sort(burnOrder)
  ) {
    expired += lot.remaining;
    post(s, t, {
      key: `expiration:lot${lot.seq}`,
      hash: "",
      userId,
      type: "expiration",
      amount: -lot.remaining,
      pi: null,
      amountCents: null,
      related: null,
    }, { firstLot: lot.seq });
  }
  return expired;
}

/** A subscription the ledger records for the first time (its row takes an id from the sequence). */
function addSubscription(s: State, sub: Sub, t: Us) {
  s.seq++;
  schedule(s, sub, null, t);
  s.subs.push(sub);
}

/** The schedule trigger: keeps next_drip_at true whatever writes the row. `t` is that write's now(). */
function schedule(s: State, sub: Sub, old: Sub | null, t: Us) {
  if (
    old && old.userId === sub.userId && old.planId === sub.planId && old.status === sub.status &&
    old.anchor === sub.anchor && sub.nextDripAt !== null
  ) {
    return; // nothing that decides the schedule changed
  }
  const plan = s.plans.get(sub.planId);
  if (sub.status === "canceled" || sub.status === "incomplete_expired" || !plan || plan.dripTokens === 0) {
    sub.nextDripAt = null;
  } else if (old && old.nextDripAt === null) {
    // drips resume: the first cycle that starts at or after the change
    const elapsed = t - sub.anchor;
    sub.nextCycle = Math.max(sub.nextCycle, 1 + (elapsed > 0 ? Math.ceil(elapsed / plan.interval) : 0));
    sub.nextDripAt = sub.anchor + (sub.nextCycle - 1) * plan.interval;
  } else if (sub.nextCycle === 1) {
    sub.nextDripAt = sub.anchor;
  } else if (sub.nextDripAt === null) {
    sub.nextDripAt = sub.anchor + (sub.nextCycle - 1) * plan.interval;
  }
}

// ---------------------------------------------------------------------------------------------
// Argument checks, in the order the RPCs apply them (the first failing one decides the SQLSTATE)
// ---------------------------------------------------------------------------------------------

function checkAmount(v: number | null | undefined, name: string, zeroOk = false) {
  if (v === null || v === undefined || v < (zeroOk ? 0 : 1) || v > MAX_TOKENS) {
    invalid(`${name} out of range`);
  }
}
export function checkKey(k: string | null | undefined, caller = true) {
  // blank: only Unicode White_Space and U+FEFF (JavaScript's \s also counts U+FEFF, not U+0085)
  if (k === null || k === undefined || /^[\s\u0085]*$/.test(k) || k.length > 255) invalid("bad key");
  if (
    caller && !known("KNOWN_BUG_9_10_RESERVED_PREFIXES") && RESERVED_PREFIXES.some((p) => k!.startsWith(p))
  ) {
    invalid("reserved key prefix");
  }
}
function checkMetadata(m: Json | undefined): Json {
  if (m === null || m === undefined) return {};
  if (typeof m !== "object" || Array.isArray(m)) invalid("metadata must be an object");
  if (jsonbTextBytes(m) > 16384) invalid("metadata over 16 KiB");
  return m;
}

/** The user an RPC acts on: signed-in users themselves, the service whoever it names. */
function targetUser(caller: Caller, pUserId: string | null | undefined, adminForOthers: boolean): string {
  if (caller.kind === "service") {
    if (!pUserId) invalid("p_user_id is required when calling as the service");
    return pUserId!;
  }
  if (caller.kind === "user") {
    if (!pUserId || pUserId === caller.userId) return caller.userId;
    if (caller.admin && adminForOthers) return pUserId;
    refuse("42501", "only your own tokens");
  }
  return refuse("42501", "sign in");
}

function lockUser(s: State, userId: string) {
  if (!s.users.has(userId)) invalid("unknown user");
}

// ---------------------------------------------------------------------------------------------
// The calls
// ---------------------------------------------------------------------------------------------

export type Call =
  | {
    op: "record_usage";
    caller: Caller;
    userId?: string | null;
    feature: string | null;
    tokens: number | null;
    key: string | null;
    model?: string | null;
    metadata?: Json;
  }
  | { op: "get_token_balance"; caller: Caller; userId?: string | null }
  | {
    op: "grant_tokens";
    caller: Caller;
    userId: string | null;
    amount: number | null;
    type: string | null;
    key: string | null;
    source?: string | null;
    expiresAt?: Us | null | "infinity";
    metadata?: Json;
  }
  | {
    op: "record_purchase";
    caller: Caller;
    userId: string | null;
    packId: string | null;
    key: string | null;
    amountCents: number | null;
    currency: string | null;
    session?: string | null;
    pi?: string | null;
    customer?: string | null;
    eventId?: string | null;
    metadata?: Json;
  }
  | {
    op: "reserve_tokens";
    caller: Caller;
    userId?: string | null;
    feature: string | null;
    tokens: number | null;
    key: string | null;
    ttl?: number | null;
  }
  | {
    op: "settle_hold";
    caller: Caller;
    holdId: string | null;
    used: number | null;
    model?: string | null;
    metadata?: Json;
  }
  | { op: "release_hold"; caller: Caller; holdId: string | null }
  | { op: "expire_holds"; caller: Caller; asOf: Us | "infinity" | null }
  | { op: "run_drip"; caller: Caller; subId: string | null; asOf: Us | "infinity" | null }
  | { op: "run_due_drips"; caller: Caller; asOf: Us | "infinity" | null; limit: number | null }
  | { op: "attribute_payment"; caller: Caller; session: string | null; userId: string | null }
  | { op: "expire_tokens"; caller: Caller; asOf: Us | "infinity" | null }
  | { op: "verify_token_ledger"; caller: Caller }
  | { op: "handle_stripe_event"; caller: Caller; event: Json }
  | {
    op: "insert_subscription";
    userId: string;
    planId: string;
    status: string;
    anchor: Us;
    nextCycle?: number;
  }
  | { op: "move_subscription"; subId: string; toUserId: string }
  | { op: "set_feature"; feature: string; active: boolean };

/** What the database told us that the model cannot know in advance (ids it made). */
export interface Learned {
  holdId?: string;
  subId?: string;
  /** run_due_drips next to other transactions on these users: SKIP LOCKED passed them by. */
  skipUsers?: string[];
  /** run_due_drips: the database may process one user's due subscriptions in either order. */
  reverse?: boolean;
}

/** p_as_of: required, finite, and within 366 days of now() (issue 9.8). */
const asOfChecks = (t: Us, asOf: Us | "infinity" | null) => {
  if (asOf === null) invalid("p_as_of is required");
  if (
    !known("KNOWN_BUG_9_8_AS_OF_WINDOW") && (asOf === "infinity" || Math.abs((asOf as Us) - t) > AS_OF_WINDOW)
  ) {
    invalid("p_as_of too far");
  }
  return asOf as Us;
};
const serviceOnly = (c: Caller) => {
  if (c.kind !== "service") refuse("42501", "service only");
};

/**
 * Applies `call` at `t` to `s` (in place) and returns what the database should answer. A
 * refused call leaves `s` as it was (the caller passes a clone it can drop). `learned` gives
 * ids the database generated, so that later calls can refer to them.
 */
export function apply(s: State, call: Call, t: Us, learned: Learned = {}): Expected {
  const work = clone(s);
  try {
    const value = applyIn(work, call, t, learned);
    Object.assign(s, work);
    return { ok: true, value };
  } catch (e) {
    if (e instanceof Refused) return { ok: false, code: e.code };
    throw e;
  }
}

function applyIn(s: State, c: Call, t: Us, learned: Learned): Record<string, Json> {
  switch (c.op) {
    case "record_usage": {
      const user = c.caller.kind === "service" && c.userId ? c.userId : targetUser(c.caller, c.userId, false);
      const metadata = checkMetadata(c.metadata);
      checkAmount(c.tokens, "p_tokens");
      checkKey(c.key);
      if (c.feature === null) invalid("p_feature is required");
      if (c.model && c.model.length > 200) invalid("p_model too long");
      lockUser(s, user);
      const u = userOf(s, user)!;
      const hash = canonical([c.feature, c.tokens, c.model ?? null, metadata]);
      const prior = u.usage.get(c.key!);
      if (prior) {
        if (prior.hash !== hash) refuse("PT409", "key reused");
        return {
          tokens: prior.tokens,
          balance_before: prior.balanceBefore,
          balance_after: prior.balanceAfter,
          replayed: true,
        };
      }
      if (!s.features.get(c.feature!)) invalid("unknown feature");
      settleUser(s, user, t);
      const before = storedBalance(s, user);
      if (before - held(s, user, t) < c.tokens!) refuse("PT402", "insufficient");
      burn(s, user, c.tokens!, t);
      u.usage.set(c.key!, {
        hash,
        tokens: c.tokens!,
        balanceBefore: before,
        balanceAfter: before - c.tokens!,
      });
      u.counts.usage++;
      return {
        tokens: c.tokens!,
        balance_before: before,
        balance_after: before - c.tokens!,
        replayed: false,
      };
    }

    case "get_token_balance": {
      const user = targetUser(c.caller, c.userId, true);
      const snap = snapshot(s, user, t);
      return { balance: snap.balance, debt: snap.debt, held: snap.held, available: snap.available };
    }

    case "grant_tokens": {
      if (c.caller.kind !== "service" && !(c.caller.kind === "user" && c.caller.admin)) {
        refuse("42501", "service or admin");
      }
      const metadata = checkMetadata(c.metadata);
      if (!c.userId) invalid("p_user_id is required");
      checkAmount(c.amount, "p_amount");
      checkKey(c.key);
      const types = ["admin_grant", "admin_deduction", "subscription_grant", "trial_grant"];
      if (c.type === null || !types.includes(c.type)) invalid("p_type");
      if (c.expiresAt != null && c.type === "admin_deduction") invalid("expiry on a deduction");
      if (c.source && c.source.length > 200) invalid("p_source too long");
      if (c.expiresAt === "infinity" && !known("KNOWN_BUG_9_8_GRANT_INFINITY")) {
        invalid("p_expires_at infinity");
      }
      return grant(s, t, {
        userId: c.userId!,
        amount: c.amount!,
        type: c.type!,
        key: c.key!,
        source: c.source ?? null,
        expiresAt: c.expiresAt === "infinity" ? Number.MAX_SAFE_INTEGER : c.expiresAt ?? null,
        metadata,
      });
    }

    case "record_purchase": {
      serviceOnly(c.caller);
      checkMetadata(c.metadata);
      if (!c.userId) invalid("p_user_id is required");
      checkKey(c.key);
      if (c.packId === null) invalid("p_pack_id is required");
      if (c.amountCents === null || c.amountCents < 0) invalid("p_amount_cents");
      if (c.currency === null || !/^[A-Za-z]{3}$/.test(c.currency)) invalid("p_currency");
      if (
        !known("KNOWN_BUG_9_8_PURCHASE_ID_LENGTH") &&
        [c.session, c.pi, c.customer, c.eventId].some((id) => id != null && id.length > 255)
      ) invalid("stripe id too long");
      return purchase(s, t, {
        userId: c.userId!,
        packId: c.packId!,
        key: c.key!,
        amountCents: c.amountCents!,
        currency: c.currency!.toLowerCase(),
        session: c.session ?? null,
        pi: c.pi ?? null,
        customer: c.customer ?? null,
      });
    }

    case "reserve_tokens": {
      const user = c.caller.kind === "service" && c.userId ? c.userId : targetUser(c.caller, c.userId, false);
      checkAmount(c.tokens, "p_tokens");
      checkKey(c.key);
      const ttl = c.ttl === undefined ? 600 : c.ttl;
      const replayFirst = !known("KNOWN_BUG_9_5_RESERVE_REPLAY_ORDER");
      const catalog = () => {
        if (c.feature === null || !s.features.get(c.feature)) invalid("unknown feature");
      };
      if (!replayFirst) catalog();
      if (ttl === null || ttl < 1 || ttl > 86400) invalid("p_ttl_seconds");
      lockUser(s, user);
      const hash = canonical([c.feature, c.tokens, ttl]);
      const prior = s.holds.find((h) => h.userId === user && h.key === c.key);
      if (prior) {
        if (prior.hash !== hash) refuse("PT409", "key reused");
        const lapsed = prior.status === "held" && prior.expiresAt <= t;
        return {
          hold_id: prior.id,
          tokens_held: prior.tokensHeld,
          expires_at: prior.expiresAt,
          available_after: prior.availableAfter,
          replayed: true,
          // Rule (9.11): a replay reports the hold's real state; a lapsed hold is not "held".
          ...(lapsed && known("KNOWN_BUG_9_11_REPLAY_STATUS")
            ? {}
            : { status: lapsed ? "expired" : prior.status }),
        };
      }
      if (replayFirst) catalog();
      settleUser(s, user, t);
      const available = storedBalance(s, user) - held(s, user, t);
      if (available < c.tokens!) refuse("PT402", "insufficient");
      const hold: Hold = {
        id: learned.holdId ?? `hold-${s.seq + 1}`,
        userId: user,
        feature: c.feature!,
        tokensHeld: c.tokens!,
        key: c.key!,
        hash,
        expiresAt: t + ttl! * SECOND,
        status: "held",
        availableAfter: available - c.tokens!,
        tokensUsed: null,
        usage: null,
      };
      s.seq++;
      s.holds.push(hold);
      userOf(s, user)!.counts.holds++;
      return {
        hold_id: hold.id,
        tokens_held: hold.tokensHeld,
        expires_at: hold.expiresAt,
        available_after: hold.availableAfter,
        status: "held",
        replayed: false,
      };
    }

    case "settle_hold": {
      const hold = findHold(s, c.caller, c.holdId);
      const metadata = checkMetadata(c.metadata);
      void metadata;
      if (hold.status === "settled") return settleResult(s, hold, true);
      if (hold.status === "released") invalid("released hold");
      checkAmount(c.used, "p_tokens_used", true);
      if (c.model && c.model.length > 200) invalid("p_model too long");
      const used = c.used!;
      settleUser(s, hold.userId, t);
      const balance = storedBalance(s, hold.userId);
      const active = hold.status === "held" && hold.expiresAt > t;
      const others = held(s, hold.userId, t, hold.id);
      let overage = 0;
      if (active) {
        // Beyond the hold, the extra comes from the tokens no other active hold keeps; the rest
        // is overage (debt). The lots may hold less than the hold when tokens expired or were
        // clawed back under it: see the burn below.
        overage = Math.max(used - Math.max(hold.tokensHeld, balance - others), 0);
      } else if (used > 0 && used > balance - others) {
        refuse("PT402", "the hold lapsed");
      }
      let usage: Hold["usage"] = null;
      if (used > 0) {
        const burned = burn(s, hold.userId, used - overage, t);
        // Decision (9.4): a hold reserves from the balance; tokens that expired under it are
        // gone, so whatever the lots did not pay is overage, and the usage row shows all debt.
        if (!known("KNOWN_BUG_9_4_HOLD_VS_EXPIRY")) overage = used - burned;
        userOf(s, hold.userId)!.debt += used - burned;
        usage = { tokens: used, overage, balanceBefore: balance, balanceAfter: balance - used };
        userOf(s, hold.userId)!.counts.usage++;
      }
      hold.status = "settled";
      hold.tokensUsed = used;
      hold.usage = usage;
      return {
        tokens: used,
        balance_before: balance,
        balance_after: balance - used,
        released: Math.max(hold.tokensHeld - used, 0),
        overage_tokens: overage,
        replayed: false,
      };
    }

    case "release_hold": {
      const hold = findHold(s, c.caller, c.holdId);
      if (hold.status === "settled") invalid("settled hold");
      const replayed = hold.status === "released";
      hold.status = "released";
      hold.tokensUsed = 0;
      // lots that lapsed leave the balance first, as in every mutation
      if (!known("KNOWN_BUG_9_4_HOLD_VS_EXPIRY")) settleUser(s, hold.userId, t);
      const raw = storedBalance(s, hold.userId) - held(s, hold.userId, t);
      return {
        status: "released",
        released: hold.tokensHeld,
        replayed,
        available_after: known("KNOWN_BUG_9_4_HOLD_VS_EXPIRY") ? raw : Math.max(raw, 0),
      };
    }

    case "expire_holds": {
      serviceOnly(c.caller);
      const asOf = asOfChecks(t, c.asOf);
      let n = 0;
      for (const h of s.holds) {
        if (h.status === "held" && h.expiresAt <= asOf) {
          h.status = "expired";
          n++;
        }
      }
      return { holds_expired: n };
    }

    case "run_drip": {
      serviceOnly(c.caller);
      const asOf = asOfChecks(t, c.asOf);
      const sub = s.subs.find((x) => x.id === c.subId);
      if (!sub) invalid("unknown subscription");
      const r = dripSubscription(s, sub!, asOf);
      return { ...r, balance_after: storedBalance(s, sub!.userId) };
    }

    case "run_due_drips": {
      serviceOnly(c.caller);
      const asOf = asOfChecks(t, c.asOf);
      if (c.limit === null || c.limit < 1 || c.limit > 100000) invalid("p_limit");
      const due = s.subs.filter((x) =>
        x.nextDripAt !== null && x.nextDripAt <= asOf && x.status !== "incomplete"
      )
        .sort((a, b) => a.nextDripAt! - b.nextDripAt! || (a.id < b.id ? -1 : 1)).slice(0, c.limit!);
      if (learned.reverse) due.reverse();
      let cycles = 0, dripped = 0, expired = 0, n = 0;
      for (const sub of due) {
        if (learned.skipUsers?.includes(sub.userId)) continue;
        const r = dripSubscription(s, sub, asOf);
        n++;
        cycles += r.cycles_issued;
        dripped += r.tokens_dripped;
        expired += r.tokens_expired;
      }
      return { subscriptions: n, cycles_issued: cycles, tokens_dripped: dripped, tokens_expired: expired };
    }

    case "expire_tokens": {
      serviceOnly(c.caller);
      const asOf = asOfChecks(t, c.asOf);
      const users = [
        ...new Set(
          s.lots.filter((l) => l.remaining > 0 && l.expiresAt !== null && l.expiresAt <= asOf)
            .map((l) => l.userId),
        ),
      ].sort();
      let tokens = 0;
      for (const u of users) tokens += settleUser(s, u, asOf);
      return { users: users.length, tokens_expired: tokens };
    }

    case "verify_token_ledger":
      serviceOnly(c.caller);
      return {};

    case "attribute_payment":
      serviceOnly(c.caller);
      return attributePayment(s, t, c.session, c.userId);

    case "handle_stripe_event":
      serviceOnly(c.caller);
      return stripeEvent(s, c.event, t, learned);

    case "insert_subscription": {
      if (!known("KNOWN_BUG_9_6_SCHEDULE_CONSTRAINTS") && (c.nextCycle ?? 1) < 1) {
        refuse("23514", "next_cycle_number >= 1");
      }
      const sub: Sub = {
        id: learned.subId ?? `sub-${s.seq + 1}`,
        stripeId: null,
        customer: null,
        userId: c.userId,
        planId: c.planId,
        status: c.status,
        anchor: c.anchor,
        nextCycle: c.nextCycle ?? 1,
        nextDripAt: null,
        lastEventAt: null,
        cycles: 0,
      };
      addSubscription(s, sub, t);
      return { subscription_id: sub.id };
    }

    case "move_subscription": {
      if (!known("KNOWN_BUG_9_7_SUBSCRIPTION_OWNER")) refuse("42501", "user_id is immutable");
      const sub = s.subs.find((x) => x.id === c.subId)!;
      const old = { ...sub };
      sub.userId = c.toUserId;
      schedule(s, sub, old, t);
      return {};
    }

    case "set_feature":
      s.features.set(c.feature, c.active);
      return {};
  }
}

function grant(s: State, t: Us, g: {
  userId: string;
  amount: number;
  type: string;
  key: string;
  source: string | null;
  expiresAt: Us | null;
  metadata: Json;
}, internal = false): Record<string, Json> {
  const hash = canonical(["grant", g.userId, g.amount, g.type, g.source, g.expiresAt, g.metadata]);
  lockUser(s, g.userId);
  const prior = s.txs.get(g.key);
  if (prior) {
    if (prior.hash !== hash) refuse("PT409", "key reused");
    return txResult(prior, true);
  }
  void internal;
  if (g.expiresAt !== null && g.expiresAt <= t) invalid("p_expires_at must be in the future");
  settleUser(s, g.userId, t);
  const deduction = g.type === "admin_deduction";
  if (deduction && storedBalance(s, g.userId) - held(s, g.userId, t) < g.amount) {
    refuse("PT402", "insufficient");
  }
  const tx = post(s, t, {
    key: g.key,
    hash,
    userId: g.userId,
    type: g.type,
    amount: deduction ? -g.amount : g.amount,
    pi: null,
    amountCents: null,
    related: null,
  }, { expiresAt: g.expiresAt });
  return txResult(tx, false);
}

function purchase(s: State, t: Us, p: {
  userId: string;
  packId: string;
  key: string;
  amountCents: number;
  currency: string;
  session: string | null;
  pi: string | null;
  customer: string | null;
}): Record<string, Json> {
  const hash = canonical([
    "purchase",
    p.userId,
    p.packId,
    p.amountCents,
    p.currency,
    p.session,
    p.pi,
    p.customer,
  ]);
  lockUser(s, p.userId);
  const prior = s.txs.get(p.key);
  if (prior) {
    if (prior.hash !== hash) refuse("PT409", "key reused");
    return txResult(prior, true);
  }
  const pack = s.packs.get(p.packId);
  if (!pack || !pack.active) invalid("unknown pack");
  settleUser(s, p.userId, t);
  const tx = post(s, t, {
    key: p.key,
    hash,
    userId: p.userId,
    type: "purchase",
    packId: p.packId,
    amount: pack!.tokens,
    pi: p.pi,
    amountCents: p.amountCents,
    related: null,
  });
  return txResult(tx, false);
}

const txResult = (tx: Tx, replayed: boolean): Record<string, Json> => ({
  transaction_type: tx.type,
  token_amount: tx.amount,
  balance_before: tx.balanceBefore,
  balance_after: tx.balanceAfter,
  replayed,
});

function findHold(s: State, caller: Caller, holdId: string | null): Hold {
  if (holdId === null) invalid("p_hold_id is required");
  const hold = s.holds.find((h) => h.id === holdId);
  if (!hold) invalid("unknown hold");
  if (caller.kind !== "service") targetUser(caller, hold!.userId, false);
  return hold!;
}

function settleResult(s: State, hold: Hold, replayed: boolean): Record<string, Json> {
  const current = storedBalance(s, hold.userId);
  return {
    tokens: hold.tokensUsed,
    released: Math.max(hold.tokensHeld - (hold.tokensUsed ?? 0), 0),
    overage_tokens: hold.usage?.overage ?? 0,
    balance_before: hold.usage?.balanceBefore ?? current,
    balance_after: hold.usage?.balanceAfter ?? current,
    replayed,
  };
}

// ---------------------------------------------------------------------------------------------
// Stripe events (docs/stripe.md)
// ---------------------------------------------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const asUuid = (v: Json | undefined) => (typeof v === "string" && UUID.test(v) ? v.toLowerCase() : null);
const epoch = (v: Json | undefined): Us | null => {
  const text = typeof v === "number" || typeof v === "string" ? String(v) : null;
  return text !== null && /^[0-9]{1,12}$/.test(text) ? Number(text) * SECOND : null;
};
// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;
const obj = (
  v: Json | undefined,
): Obj | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? v as Obj : null);

function stripeEvent(s: State, event: Json, t: Us, learned: Learned): Record<string, Json> {
  const e = obj(event);
  const o = obj(obj(e?.data)?.object);
  // A usable snapshot event (issue 9.8): anything else is 22023, answered 400 by the function.
  const created = e?.created;
  if (
    !e || typeof e.id !== "string" || !/^evt_[A-Za-z0-9_]{1,244}$/.test(e.id) || e.object !== "event" ||
    typeof e.type !== "string" || e.type.length < 1 || e.type.length > 255 || typeof created !== "number" ||
    !Number.isInteger(created) || created < 0 || created > 253402300799 ||
    !(e.livemode === undefined || e.livemode === null || typeof e.livemode === "boolean") || !o
  ) {
    invalid("not a usable Stripe event");
  }
  const id = e!.id as string;
  if (s.events.has(id)) return { status: "duplicate", result: s.events.get(id)! };
  const type = e!.type as string;
  let result: Obj;
  if (type === "checkout.session.completed" || type === "checkout.session.async_payment_succeeded") {
    result = stripeCheckout(s, e!, o!, t);
  } else if (
    type.startsWith("customer.subscription.") && ["created", "updated", "deleted"].includes(type.slice(22))
  ) {
    result = stripeSubscription(s, e!, o!, t, learned);
  } else if (type === "invoice.paid") {
    result = stripeInvoice(s, e!, o!, t);
  } else if (["charge.refunded", "charge.dispute.created", "charge.dispute.closed"].includes(type)) {
    result = stripeClawback(s, e!, o!, t);
  } else {
    result = { ignored: `event type ${type} is not handled` };
  }
  const status = result.unattributed
    ? "unattributed"
    : result.ignored !== undefined
    ? "ignored"
    : "processed";
  s.events.set(id, result);
  return { status, result };
}

function stripeCheckout(s: State, e: Obj, o: Obj, t: Us): Obj {
  // The first of client_reference_id and metadata.user_id that names a known user (9.2).
  let user =
    [asUuid(o.client_reference_id), asUuid(obj(o.metadata)?.user_id)].find((u) => u && s.users.has(u)) ??
      null;
  if (o.mode === "subscription") {
    if (!user) return { ignored: "the session names no known user" };
    if (o.customer == null) return { ignored: "subscription session without a customer" };
    if (!s.customers.has(o.customer)) s.customers.set(o.customer, user);
    return { linked_customer: o.customer, user_id: user };
  }
  if (o.mode != null && o.mode !== "payment") return { ignored: `checkout mode ${o.mode}` };
  if (!["paid", "no_payment_required"].includes(o.payment_status ?? "")) {
    return { ignored: "payment not completed yet" };
  }
  const kept = s.unattributed.get(o.id);
  if (kept?.attributedTo) user = kept.attributedTo;
  if (!user) {
    // Decision (9.2): a paid session that names no known user answers 200 `unattributed` and
    // is kept for an operator, who attributes it later (attribute_payment).
    if (!kept) {
      s.unattributed.set(o.id, {
        pi: o.payment_intent ?? null,
        session: e,
        attributedTo: null,
        refunded: false,
      });
    }
    return {
      unattributed: "kept for an operator",
      amount_cents: o.amount_total ?? 0,
      pack_id: checkoutPack(s, o),
    };
  }
  const result = checkoutPurchase(s, t, o, user);
  if (kept && !kept.attributedTo) kept.attributedTo = user;
  return result;
}

function checkoutPack(s: State, o: Obj): string | null {
  const meta = obj(o.metadata);
  return meta?.pack_id ??
    [...s.packs].find(([, p]) => meta?.price_id != null && p.priceId === meta.price_id)?.[0] ?? null;
}

/** A session is bought once, with the pack it bought first (replays before the catalog). */
function checkoutPurchase(s: State, t: Us, o: Obj, user: string): Obj {
  const pack = s.txs.get(`checkout:${o.id}`)?.packId ?? checkoutPack(s, o);
  if (pack === null) invalid("no token pack");
  return purchase(s, t, {
    userId: user,
    packId: pack!,
    key: `checkout:${o.id}`,
    amountCents: o.amount_total ?? 0,
    currency: (o.currency ?? "usd").toLowerCase(),
    session: o.id ?? null,
    pi: o.payment_intent ?? null,
    customer: o.customer ?? null,
  });
}

/** attribute_payment: an operator grants a kept payment to a user, through the purchase path. */
function attributePayment(s: State, t: Us, session: string | null, user: string | null): Obj {
  if (session === null || user === null) invalid("session and user are required");
  const kept = s.unattributed.get(session!);
  if (!kept) invalid("no unattributed payment for that session");
  if (kept!.attributedTo && kept!.attributedTo !== user) refuse("PT409", "attributed to another user");
  if (!kept!.attributedTo && kept!.refunded) invalid("refunded or disputed before it was attributed");
  if (!s.users.has(user!)) invalid("unknown user");
  const result = checkoutPurchase(s, t, obj(obj(obj(kept!.session)?.data)?.object)!, user!);
  kept!.attributedTo = user;
  return result;
}

function stripeSubscription(s: State, e: Obj, o: Obj, t: Us, learned: Learned): Obj {
  const created = epoch(e.created)!;
  let user = asUuid(obj(o.metadata)?.user_id);
  if (user === null) user = s.customers.get(o.customer) ?? null;
  if (user === null) refuse("55000", "customer not linked yet");
  if (!s.users.has(user!)) {
    s.unattributedSubs.add(o.id);
    return { unattributed: `subscription ${o.id} names no known user (${user}): kept until a subscription event names one` };
  }
  const price = o.items?.data?.[0]?.price?.id;
  const plan = [...s.plans.values()].find((p) => p.priceId === price);
  if (!plan) invalid("unknown price");
  const status = e.type === "customer.subscription.deleted" ? "canceled" : o.status;
  if (o.customer != null && !s.customers.has(o.customer)) s.customers.set(o.customer, user!);
  const existing = s.subs.find((x) => x.stripeId === o.id);
  if (!existing) {
    const anchor = epoch(o.start_date) ?? epoch(o.created) ?? created;
    const sub: Sub = {
      id: learned.subId ?? `sub-${s.seq + 1}`,
      stripeId: o.id,
      customer: o.customer ?? null,
      userId: user!,
      planId: plan!.id,
      status,
      anchor,
      // first recorded now: drips begin with the cycle under way (no back-fill before it)
      nextCycle: 1 + Math.max(Math.floor((t - anchor) / plan!.interval), 0),
      nextDripAt: null,
      lastEventAt: created,
      cycles: 0,
    };
    addSubscription(s, sub, t);
    return { subscription_id: sub.id, user_id: user, status: sub.status, plan_id: sub.planId };
  }
  if (existing.lastEventAt !== null && existing.lastEventAt > created) {
    return { ignored: "stale event: a newer event already set this subscription" };
  }
  const old = { ...existing };
  existing.customer = o.customer ?? null;
  existing.planId = plan!.id;
  // canceled and incomplete_expired are final
  existing.status = ["canceled", "incomplete_expired"].includes(existing.status) ? existing.status : status;
  existing.lastEventAt = created;
  schedule(s, existing, old, t);
  return {
    subscription_id: existing.id,
    user_id: existing.userId,
    status: existing.status,
    plan_id: existing.planId,
  };
}

function stripeInvoice(s: State, e: Obj, o: Obj, t: Us): Obj {
  const stripeSub = o.parent?.subscription_details?.subscription ?? o.subscription ?? null;
  if (stripeSub === null) return { ignored: "invoice without a subscription" };
  const sub = s.subs.find((x) => x.stripeId === stripeSub);
  if (!sub && s.unattributedSubs.has(stripeSub)) {
    return { unattributed: `invoice ${o.id} of subscription ${stripeSub}, which names no known user: no tokens` };
  }
  if (!sub) refuse("55000", "subscription not recorded yet");
  const created = epoch(e.created)!;
  if (
    ["past_due", "unpaid", "incomplete"].includes(sub!.status) &&
    (sub!.lastEventAt === null || sub!.lastEventAt <= created)
  ) {
    const old = { ...sub! };
    sub!.status = "active";
    sub!.lastEventAt = created;
    schedule(s, sub!, old, t);
  }
  const plan = s.plans.get(sub!.planId)!;
  const out: Obj = { subscription_id: sub!.id };
  if (plan.annualGrant !== null && Number(o.amount_paid ?? 0) > 0) {
    out.grant = grant(s, t, {
      userId: sub!.userId,
      amount: plan.annualGrant,
      type: "subscription_grant",
      key: `invoice:${o.id}`,
      source: "stripe",
      expiresAt: null,
      metadata: { stripe_invoice_id: o.id, stripe_subscription_id: stripeSub, plan_id: plan.id },
    }, true);
  }
  if (plan.dripTokens > 0) {
    lockUser(s, sub!.userId);
    out.drip = dripSubscription(s, sub!, t);
  }
  return out;
}

/** tokens a refunded or disputed amount stands for, rounded down (docs/stripe.md#refunds). */
export function tokensForCents(tokens: number, cents: number, total: number | null): number {
  if (total === null || total <= 0) return cents > 0 ? tokens : 0;
  return Math.floor(tokens * Math.min(Math.max(cents, 0), total) / total);
}

function stripeClawback(s: State, e: Obj, o: Obj, t: Us): Obj {
  const type = e.type as string;
  const purchaseTx =
    [...s.txs.values()].filter((x) => x.type === "purchase" && x.pi !== null && x.pi === o.payment_intent)
      .sort((a, b) => (a.lotSeq ?? 0) - (b.lotSeq ?? 0))[0];
  if (!purchaseTx) {
    const kept = [...s.unattributed.values()].find((u) => u.pi === o.payment_intent && !u.attributedTo);
    if (kept) {
      if (
        type === "charge.refunded" ||
        (type === "charge.dispute.created" && !String(o.status ?? "").startsWith("warning"))
      ) {
        kept.refunded = true;
      }
      return { ignored: "the unattributed payment: no tokens were granted, none are taken back" };
    }
    if (obj(o.metadata) && "pack_id" in o.metadata) refuse("55000", "before its purchase");
    return { ignored: `no token purchase for payment_intent ${o.payment_intent}` };
  }
  const st = s.clawbacks.get(purchaseTx.key) ??
    { refunded: 0, disputeId: null, disputeCents: 0, disputeActive: false, disputeClosed: false };
  s.clawbacks.set(purchaseTx.key, st);
  let kind: string;
  if (type === "charge.refunded") {
    kind = "refund";
    st.refunded = Math.max(st.refunded, Number(o.amount_refunded ?? 0));
  } else if (type === "charge.dispute.created") {
    kind = "dispute";
    if (String(o.status ?? "").startsWith("warning")) {
      return { ignored: "an inquiry (warning) withdraws no funds" };
    }
    if (st.disputeId === null || st.disputeId === o.id) {
      st.disputeId = o.id;
      st.disputeCents = Number(o.amount ?? 0);
      st.disputeActive = !st.disputeClosed;
    }
  } else {
    kind = "dispute";
    if (o.status === "lost") return { ignored: "dispute lost: the tokens stay clawed back" };
    if (!["won", "warning_closed"].includes(o.status)) {
      return { ignored: `dispute closed with status ${o.status}` };
    }
    if (st.disputeId === null || st.disputeId === o.id) {
      st.disputeId = o.id;
      st.disputeCents = Number(o.amount ?? 0);
      st.disputeActive = false;
      st.disputeClosed = true;
    }
  }
  const granted = purchaseTx.amount;
  const should = Math.min(
    granted,
    tokensForCents(granted, st.refunded, purchaseTx.amountCents) +
      (st.disputeActive ? tokensForCents(granted, st.disputeCents, purchaseTx.amountCents) : 0),
  );
  const done = -[...s.txs.values()].filter((x) => x.related === purchaseTx.key).reduce(
    (a, x) => a + x.amount,
    0,
  );
  if (should === done) return { tokens: 0, note: "already reconciled" };
  settleUser(s, purchaseTx.userId, t);
  const tx = post(s, t, {
    key: `stripe:${e.id}`,
    hash: "",
    userId: purchaseTx.userId,
    type: should > done ? kind : "dispute_reversal",
    amount: done - should,
    pi: purchaseTx.pi,
    amountCents: null,
    related: purchaseTx.key,
  }, { allowDebt: true, firstLot: purchaseTx.lotSeq });
  return txResult(tx, false);
}
