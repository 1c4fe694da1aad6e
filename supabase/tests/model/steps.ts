// The commands of the model suite, as fast-check arbitraries. Each command is plain data (printed
// in a failure report) plus `build`, which turns it into calls against the current world: which
// user, which earlier hold or purchase, the as-of clock. Indices are taken modulo what exists,
// so every generated sequence is runnable and shrinks well.
import fc from "fast-check";
import {
  type Call,
  type Caller,
  DAY,
  held,
  type Hold,
  type Json,
  RESERVED_PREFIXES,
  SECOND,
  storedBalance,
  type Us,
} from "./model.ts";
import { known } from "./known_bugs.ts";
import {
  FEATURES,
  PACKS,
  PLANS,
  type Real,
  RETIRED_PACK,
  step,
  STRANGER,
  TOGGLED_FEATURE,
  type World,
} from "./harness.ts";
import { hostileCall } from "./hostile.ts";

const HOUR = 3600 * SECOND;
type V<A> = A extends fc.Arbitrary<infer T> ? T : never;

export interface Built {
  calls: Call[];
  http?: boolean;
  user?: string; // the user a group of calls runs on
  clock?: Us; // a clock advance (no call)
}

export class Cmd implements fc.AsyncCommand<World, Real> {
  constructor(
    readonly name: string,
    readonly params: Record<string, unknown>,
    readonly build: (w: World) => Built | null,
  ) {}
  check() {
    return true;
  }
  async run(w: World, r: Real) {
    const b = this.build(w);
    if (!b) return;
    if (b.clock !== undefined) {
      // Time passes; with `calls`, the jobs pg_cron would have run meanwhile, one after another.
      w.V = b.clock;
      for (const c of b.calls) {
        await step(w, r, [c]);
        w.afterStep?.();
      }
      return;
    }
    await step(w, r, b.calls, { http: b.http, user: b.user });
    w.afterStep?.();
  }
  toString() {
    return `${this.name}(${JSON.stringify(this.params)})`;
  }
}

const cmd = <P extends Record<string, unknown>>(
  name: string,
  arb: fc.Arbitrary<P>,
  build: (w: World, p: P) => Built | null,
) => arb.map((p) => new Cmd(name, p, (w) => build(w, p)));

const pick = <T>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);
const fresh = (w: World, prefix: string) => `${prefix}${++w.n}`;
const service: Caller = { kind: "service" };
const asSelf = (w: World, u: number): Caller => ({ kind: "user", userId: w.users[u] });
const admin = (w: World): Caller => ({ kind: "user", userId: w.users[2], admin: true });

const user = fc.nat({ max: 2 });
const tokens = fc.oneof(fc.integer({ min: 1, max: 1500 }), fc.constantFrom(1, 500, 1000, 3000));
/** Spending is smaller than crediting, so that balances build up and most spends go through. */
const spend = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 300 }) }, {
  weight: 1,
  arbitrary: tokens,
});
const keyChoice = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: "new" as const, i: 0 }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("replay" as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reuse" as const), i: fc.nat() }) },
);
type KeyChoice = { kind: "new" | "replay" | "reuse"; i: number };

/** A caller key; after the 9.10 fix, now and then one with a reserved prefix (22023). */
function callerKey(w: World, prefix: string, i: number): string {
  if (!known("KNOWN_BUG_9_10_RESERVED_PREFIXES") && i % 17 === 5) {
    return `${RESERVED_PREFIXES[i % RESERVED_PREFIXES.length]}${fresh(w, "k")}`;
  }
  return fresh(w, prefix);
}

/** A new call, or an earlier call of the log sent again (replay) or changed (key reuse: PT409). */
function withKey(_w: World, log: Call[], k: KeyChoice, make: () => Call, change: (c: Call) => Call): Call {
  const earlier = pick(log, k.i);
  if (k.kind === "replay" && earlier) return earlier;
  if (k.kind === "reuse" && earlier) return change(earlier);
  const c = make();
  log.push(c);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Usage, grants, purchases
// ---------------------------------------------------------------------------------------------

const usageCall = (
  w: World,
  p: { u: number; self: boolean; f: number; tokens: number; key: KeyChoice; model: boolean },
) =>
  withKey(w, w.log.usage, p.key, () => ({
    op: "record_usage",
    caller: p.self ? asSelf(w, p.u) : service,
    userId: p.self ? null : w.users[p.u],
    feature: FEATURES[p.f % FEATURES.length],
    tokens: p.tokens,
    key: callerKey(w, "use", p.tokens),
    model: p.model ? "gpt-test" : undefined,
  }), (c) => ({ ...c, tokens: (c as { tokens: number }).tokens + 1 } as Call));
const usageArb = fc.record({
  u: user,
  self: fc.boolean(),
  f: fc.nat(),
  tokens: spend,
  key: keyChoice,
  model: fc.boolean(),
});

const grantTypes = fc.oneof(
  { weight: 3, arbitrary: fc.constant("admin_grant") },
  { weight: 2, arbitrary: fc.constant("trial_grant") },
  { weight: 1, arbitrary: fc.constant("subscription_grant") },
  { weight: 2, arbitrary: fc.constant("admin_deduction") },
);
const expiries = fc.constantFrom<"none" | "1h" | "2d" | "30d" | "60d" | "past">(
  "none",
  "none",
  "1h",
  "2d",
  "30d",
  "60d",
  "past",
);
const expiryAt = (w: World, e: string): Us | null =>
  ({
    none: null,
    "1h": w.T0 + HOUR + 17,
    "2d": w.T0 + 2 * DAY + 3 * HOUR,
    "30d": w.T0 + 30 * DAY,
    "60d": w.T0 + 60 * DAY,
    past: w.T0 - HOUR,
  })[e]!;
const grantArb = fc.record({
  u: user,
  type: grantTypes,
  amount: tokens,
  expiry: expiries,
  byAdmin: fc.boolean(),
  key: keyChoice,
});
const grantCall = (w: World, p: V<typeof grantArb>) =>
  withKey(w, w.log.grant, p.key, () => ({
    op: "grant_tokens",
    caller: p.byAdmin ? admin(w) : service,
    userId: w.users[p.u],
    amount: p.amount,
    type: p.type,
    key: callerKey(w, "grant", p.amount),
    expiresAt: p.type === "admin_deduction" ? null : expiryAt(w, p.expiry),
    metadata: { reason: "model" },
  }), (c) => ({ ...c, amount: (c as { amount: number }).amount + 1 } as Call));

const purchaseArb = fc.record({
  u: user,
  pack: fc.nat({ max: 2 }),
  cents: fc.constantFrom(0, 300, 999, 1000),
  key: keyChoice,
});
const purchaseCall = (w: World, p: V<typeof purchaseArb>) =>
  withKey(w, w.log.purchase, p.key, () => ({
    op: "record_purchase",
    caller: service,
    userId: w.users[p.u],
    packId: [...PACKS.map((x) => x[0]), RETIRED_PACK][p.pack],
    key: callerKey(w, "buy", p.cents),
    amountCents: p.cents,
    currency: "USD",
    pi: fresh(w, "pi_direct_"),
  }), (c) => ({ ...c, amountCents: (c as { amountCents: number }).amountCents + 1 } as Call));

// ---------------------------------------------------------------------------------------------
// Holds
// ---------------------------------------------------------------------------------------------

const ttls = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(30, 600, 86400) }, {
  weight: 1,
  arbitrary: fc.constant(1),
});
const reserveArb = fc.record({
  u: user,
  self: fc.boolean(),
  f: fc.nat(),
  // now and then everything the user may spend, as a long stream would
  tokens: fc.oneof({ weight: 2, arbitrary: spend }, { weight: 1, arbitrary: fc.constant(-1) }),
  ttl: ttls,
  key: keyChoice,
});
const reserveCall = (w: World, p: V<typeof reserveArb>): Call | null => {
  const c = withKey(w, w.log.reserve, p.key, () => ({
    op: "reserve_tokens",
    caller: p.self ? asSelf(w, p.u) : service,
    userId: p.self ? null : w.users[p.u],
    feature: FEATURES[p.f % FEATURES.length],
    tokens: p.tokens === -1
      ? Math.max(storedBalance(w.s, w.users[p.u]) - held(w.s, w.users[p.u], w.lastT), 1)
      : p.tokens,
    key: callerKey(w, "hold", p.tokens),
    ttl: p.ttl,
  }), (c) => ({ ...c, ttl: ((c as { ttl: number }).ttl % 86400) + 1 } as Call));
  if (c.op !== "reserve_tokens") return c;
  // 9.5: a replay after the feature was switched off is what main still gets wrong.
  if (
    known("KNOWN_BUG_9_5_RESERVE_REPLAY_ORDER") && c.feature !== null && !w.s.features.get(c.feature) &&
    w.s.holds.some((h) => h.key === c.key)
  ) return null;
  // 9.11: a replay of a hold that lapsed before any sweep.
  if (
    known("KNOWN_BUG_9_11_REPLAY_STATUS") &&
    w.s.holds.some((h) => h.key === c.key && h.status === "held" && h.expiresAt <= w.lastT + 5 * SECOND)
  ) return null;
  return c;
};

/** 9.4: while main lets lots vanish under a hold, settle only holds whose tokens are all there. */
function holdCovered(w: World, holdId: string): boolean {
  if (!known("KNOWN_BUG_9_4_HOLD_VS_EXPIRY")) return true;
  const h = w.s.holds.find((x) => x.id === holdId)!;
  const t = w.lastT;
  if (h.status !== "held" || h.expiresAt <= t + 5 * SECOND) return true; // lapsed path: no bug there
  return storedBalance(w.s, h.userId) - held(w.s, h.userId, t, h.id) >= h.tokensHeld;
}

const settleArb = fc.record({
  h: fc.nat(),
  used: fc.constantFrom("zero", "below", "exact", "above", "far_above"),
  byOwner: fc.boolean(),
  model: fc.boolean(),
});
/** Mostly one of the last holds reserved (a client settles the call it just made), else any. */
const recentHold = (w: World, i: number) =>
  i % 3 === 0
    ? pick(w.s.holds, i)
    : w.s.holds[w.s.holds.length - 1 - (i % Math.min(3, w.s.holds.length || 1))];

const settleCall = (w: World, p: V<typeof settleArb>, hold?: Hold): Call | null => {
  const h = hold ?? recentHold(w, p.h);
  if (!h || !holdCovered(w, h.id)) return null;
  const used = {
    zero: 0,
    below: Math.floor(h.tokensHeld / 2),
    exact: h.tokensHeld,
    above: h.tokensHeld + 100,
    far_above: h.tokensHeld * 3 + 1000,
  }[p.used]!;
  return {
    op: "settle_hold",
    caller: p.byOwner ? { kind: "user", userId: h.userId } : service,
    holdId: h.id,
    used,
    model: p.model ? "gpt-test" : undefined,
    metadata: p.model ? { turn: 1 } : undefined,
  };
};
const releaseArb = fc.record({ h: fc.nat(), byOwner: fc.boolean() });
const releaseCall = (w: World, p: V<typeof releaseArb>, hold?: Hold): Call | null => {
  const h = hold ?? recentHold(w, p.h);
  if (!h) return null;
  return {
    op: "release_hold",
    caller: p.byOwner ? { kind: "user", userId: h.userId } : service,
    holdId: h.id,
  };
};

// ---------------------------------------------------------------------------------------------
// Clock, drips, sweeps
// ---------------------------------------------------------------------------------------------

const MAX_AHEAD = 180 * DAY;
const advanceArb = fc.record({
  by: fc.constantFrom("1h", "1d", "7d", "28d", "29d", "odd"),
  odd: fc.integer({ min: 1, max: 20 * DAY / SECOND }),
  cron: fc.boolean(),
});
const advance = (w: World, p: V<typeof advanceArb>): Built | null => {
  const by = {
    "1h": HOUR,
    "1d": DAY,
    "7d": 7 * DAY,
    "28d": 28 * DAY,
    "29d": 29 * DAY,
    odd: p.odd * SECOND,
  }[p.by]!;
  if (w.V + by > w.T0 + MAX_AHEAD) return null;
  const at = w.V + by;
  // the token-holds, token-drips and token-expiry jobs at the new time, as pg_cron runs them
  const jobs: Call[] = [
    { op: "expire_holds", caller: service, asOf: at },
    { op: "run_due_drips", caller: service, asOf: at, limit: 5000 },
    { op: "expire_tokens", caller: service, asOf: at },
  ];
  return { calls: p.cron ? jobs : [], clock: at };
};

const dueDripsCall = (w: World, limit: number): Call => ({
  op: "run_due_drips",
  caller: service,
  asOf: w.V,
  limit,
});
const runDripCall = (w: World, i: number): Call | null => {
  const sub = pick(w.s.subs, i);
  return sub ? { op: "run_drip", caller: service, subId: sub.id, asOf: w.V } : null;
};

const anchorArb = fc.record({
  cycles: fc.nat({ max: 3 }),
  hours: fc.integer({ min: 2, max: 26 * 24 }),
  ahead: fc.boolean(),
});
/** Anchors keep their cycle boundaries at least 2 hours from the run's start, where real time is. */
const anchorAt = (w: World, plan: string, a: V<typeof anchorArb>): Us => {
  const interval = PLANS.find((p) => p.id === plan)?.interval ?? 28 * DAY;
  const hours = Math.min(a.hours, Math.floor(interval / HOUR) - 2);
  return w.T0 - a.cycles * interval + (a.ahead ? 1 : -1) * hours * HOUR - 1000 * w.n++;
};

const planArb = fc.constantFrom(...PLANS.map((p) => p.id), "m_small");
const insertSubArb = fc.record({
  u: user,
  plan: planArb,
  status: fc.constantFrom("active", "active", "trialing", "past_due", "incomplete"),
  anchor: anchorArb,
  // an impossible schedule written by hand (issue 9.6): refused by a constraint, once that is in
  impossible: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, {
    weight: 1,
    arbitrary: fc.constant(true),
  }),
});

// ---------------------------------------------------------------------------------------------
// Stripe events
// ---------------------------------------------------------------------------------------------

function event(w: World, type: string, object: Record<string, Json>, created?: number): Json {
  const e = {
    id: fresh(w, `evt_m${w.T0 % 100000}_`),
    object: "event",
    type,
    created: created ?? w.eventClock++,
    livemode: false,
    data: { object },
  };
  w.events.push(e);
  return e;
}
const stripeCall = (e: Json): Call => ({ op: "handle_stripe_event", caller: service, event: e });

const checkoutArb = fc.record({
  u: user,
  pack: fc.nat({ max: 2 }),
  cents: fc.constantFrom(300, 1000, 999),
  http: fc.boolean(),
  who: fc.constantFrom("ref", "ref", "meta", "both", "ref_stranger_meta_user", "nobody", "price_id"),
  paid: fc.constantFrom("paid", "paid", "paid", "no_payment_required", "unpaid"),
  async: fc.boolean(),
});
const checkoutCall = (w: World, p: V<typeof checkoutArb>): Built | null => {
  if (
    known("KNOWN_BUG_9_2_CHECKOUT_ATTRIBUTION") &&
    (p.who === "ref_stranger_meta_user" || (p.who === "nobody" && p.paid !== "unpaid"))
  ) return null;
  const id = fresh(w, "cs_m");
  const pi = fresh(w, "pi_m");
  const uid = w.users[p.u];
  const pack = [...PACKS.map((x) => x[0]), RETIRED_PACK][p.pack];
  const meta: Record<string, Json> = p.who === "price_id"
    ? { price_id: PACKS[p.pack % 2][2] }
    : { pack_id: pack };
  if (p.who === "meta" || p.who === "both" || p.who === "ref_stranger_meta_user") meta.user_id = uid;
  const ref = p.who === "ref" || p.who === "both" || p.who === "price_id"
    ? uid
    : p.who === "ref_stranger_meta_user"
    ? STRANGER
    : null;
  w.sessions.push({ id, user: p.u, pack, cents: p.cents, pi });
  return {
    http: p.http,
    calls: [
      stripeCall(
        event(w, p.async ? "checkout.session.async_payment_succeeded" : "checkout.session.completed", {
          id,
          object: "checkout.session",
          mode: "payment",
          payment_status: p.async ? "paid" : p.paid,
          client_reference_id: ref,
          metadata: meta,
          amount_total: p.cents,
          currency: "usd",
          payment_intent: pi,
          customer: `cus_m${p.u}`,
        }),
      ),
    ],
  };
};

const subEventArb = fc.record({
  kind: fc.constantFrom("created", "created", "updated", "updated", "deleted", "link"),
  u: user,
  i: fc.nat(),
  plan: planArb,
  status: fc.constantFrom(
    "active",
    "active",
    "trialing",
    "past_due",
    "unpaid",
    "paused",
    "incomplete",
    "incomplete_expired",
    "canceled",
  ),
  withMeta: fc.boolean(),
  stale: fc.boolean(),
  anchor: anchorArb,
  http: fc.boolean(),
});
const subEventCall = (w: World, p: V<typeof subEventArb>): Built | null => {
  const customer = `cus_m${p.u}`;
  if (p.kind === "link") {
    return {
      http: p.http,
      calls: [stripeCall(event(w, "checkout.session.completed", {
        id: fresh(w, "cs_sub"),
        object: "checkout.session",
        mode: "subscription",
        client_reference_id: w.users[p.u],
        customer,
        subscription: `sub_m${p.i}`,
      }))],
    };
  }
  let sub = pick(w.stripeSubs, p.i);
  if (p.kind === "created" || !sub) {
    sub = { stripeId: fresh(w, "sub_m"), user: p.u, customer, plan: p.plan };
    w.stripeSubs.push(sub);
  }
  const created = p.stale && p.kind !== "created" ? w.eventClock - 1000 : w.eventClock++;
  const start = Math.floor(anchorAt(w, sub.plan, p.anchor) / SECOND);
  return {
    http: p.http,
    calls: [stripeCall(event(w, `customer.subscription.${p.kind === "created" ? "created" : p.kind}`, {
      id: sub.stripeId,
      object: "subscription",
      customer: sub.customer,
      status: p.kind === "deleted" ? "canceled" : p.status,
      start_date: start,
      created: start,
      cancel_at_period_end: false,
      canceled_at: null,
      metadata: p.withMeta ? { user_id: w.users[sub.user] } : {},
      items: {
        object: "list",
        data: [{
          id: `si_${sub.stripeId}`,
          price: { id: PLANS.find((x) => x.id === (p.kind === "updated" ? p.plan : sub!.plan))!.priceId },
          current_period_start: start,
          current_period_end: start + 28 * 86400,
        }],
      },
    }, created))],
  };
};

const invoiceArb = fc.record({ i: fc.nat(), paid: fc.constantFrom(0, 1999, 1999), http: fc.boolean() });
const invoiceCall = (w: World, p: V<typeof invoiceArb>): Built | null => {
  const sub = pick(w.stripeSubs, p.i);
  if (!sub) return null;
  return {
    http: p.http,
    calls: [stripeCall(event(w, "invoice.paid", {
      id: fresh(w, "in_m"),
      object: "invoice",
      amount_paid: p.paid,
      customer: sub.customer,
      parent: { subscription_details: { subscription: sub.stripeId } },
    }))],
  };
};

/** Payment intents of purchases the model knows, with what was paid. */
const purchases = (w: World) => [...w.s.txs.values()].filter((t) => t.type === "purchase" && t.pi !== null);

const clawArb = fc.record({
  kind: fc.constantFrom("refund", "refund", "dispute", "won", "lost", "warning", "warning_closed"),
  i: fc.nat(),
  frac: fc.constantFrom(0.1, 0.25, 0.5, 1),
  http: fc.boolean(),
  unknownPi: fc.nat({ max: 9 }),
});
const clawCall = (w: World, p: V<typeof clawArb>): Built | null => {
  const tx = pick(purchases(w), p.i);
  // a payment the ledger never sold (ignored), or one whose purchase has not arrived (55000)
  const kept = [...w.s.unattributed.values()].filter((u) => u.pi !== null);
  // a payment the ledger never sold (ignored), one whose purchase has not arrived (55000), or
  // the payment of a checkout kept unattributed (ignored, and it can no longer be attributed)
  const pi = p.unknownPi === 3 && kept.length
    ? pick(kept, p.i)!.pi!
    : p.unknownPi === 0 || !tx
    ? fresh(w, "pi_other")
    : tx.pi!;
  const paid = tx?.amountCents ?? 1000;
  const cents = Math.floor(paid * p.frac);
  const charge = `ch_${pi}`;
  const metadata: Record<string, Json> = p.unknownPi === 1 && !tx ? { pack_id: "m_pack_1k" } : {};
  if (p.kind === "refund") {
    return {
      http: p.http,
      calls: [stripeCall(event(w, "charge.refunded", {
        id: charge,
        object: "charge",
        payment_intent: pi,
        amount: paid,
        amount_refunded: cents,
        metadata,
      }))],
    };
  }
  let dispute = w.disputes.get(pi);
  if (!dispute || p.unknownPi === 2) w.disputes.set(pi, dispute = fresh(w, "dp_m"));
  const closed = ["won", "lost", "warning_closed"].includes(p.kind);
  return {
    http: p.http,
    calls: [stripeCall(event(w, closed ? "charge.dispute.closed" : "charge.dispute.created", {
      id: dispute,
      object: "dispute",
      charge,
      payment_intent: pi,
      amount: cents,
      metadata,
      status: closed ? p.kind : p.kind === "warning" ? "warning_needs_response" : "needs_response",
    }))],
  };
};

const redeliverArb = fc.record({ i: fc.nat(), http: fc.boolean() });
const unknownEventCall = (w: World): Built => ({
  calls: [stripeCall(event(w, "customer.created", { id: fresh(w, "cus_x"), object: "customer" }))],
});

// ---------------------------------------------------------------------------------------------
// Groups of calls at once, on one user, from separate connections
// ---------------------------------------------------------------------------------------------

const memberArb = fc.oneof(
  usageArb.map((p) => ({ kind: "usage" as const, p })),
  usageArb.map((p) => ({ kind: "usage_twice" as const, p })),
  reserveArb.map((p) => ({ kind: "reserve" as const, p })),
  settleArb.map((p) => ({ kind: "settle" as const, p })),
  releaseArb.map((p) => ({ kind: "release" as const, p })),
  grantArb.map((p) => ({ kind: "grant" as const, p })),
  fc.constant({ kind: "due_drips" as const, p: {} }),
  fc.constant({ kind: "expire_tokens" as const, p: {} }),
  fc.nat().map((i) => ({ kind: "run_drip" as const, p: { i } })),
  fc.nat().map((i) => ({ kind: "redeliver" as const, p: { i } })),
);
const groupArb = fc.record({ u: user, members: fc.array(memberArb, { minLength: 2, maxLength: 4 }) });
const groupCalls = (w: World, p: V<typeof groupArb>): Built | null => {
  const calls: Call[] = [];
  const uid = w.users[p.u];
  for (const m of p.members) {
    const onUser = { ...m.p, u: p.u } as never;
    let c: Call | Call[] | null = null;
    if (m.kind === "usage") c = usageCall(w, onUser);
    if (m.kind === "usage_twice") {
      const one = usageCall(w, { ...(onUser as object), key: { kind: "new", i: 0 } } as never);
      c = [one, one];
    }
    if (m.kind === "reserve") c = reserveCall(w, onUser);
    if (m.kind === "settle" || m.kind === "release") {
      const mine = w.s.holds.filter((h) => h.userId === uid);
      const h = pick(mine, (m.p as { h: number }).h);
      if (h) c = m.kind === "settle" ? settleCall(w, m.p as never, h) : releaseCall(w, m.p as never, h);
    }
    if (m.kind === "grant") c = grantCall(w, onUser);
    if (m.kind === "due_drips") c = dueDripsCall(w, 1000);
    if (m.kind === "expire_tokens") c = { op: "expire_tokens", caller: service, asOf: w.V };
    if (m.kind === "run_drip") {
      const mine = w.s.subs.filter((s) => s.userId === uid);
      const sub = pick(mine, (m.p as { i: number }).i);
      if (sub) c = { op: "run_drip", caller: service, subId: sub.id, asOf: w.V };
    }
    if (m.kind === "redeliver") {
      const e = pick(w.events, (m.p as { i: number }).i);
      if (e) c = [stripeCall(e), stripeCall(e)];
    }
    if (c) calls.push(...(Array.isArray(c) ? c : [c]));
  }
  // 9.4: while main has it, no group that can take tokens from under another call's hold
  if (
    known("KNOWN_BUG_9_4_HOLD_VS_EXPIRY") && calls.some((c) => c.op === "settle_hold") &&
    calls.some((c) => ["expire_tokens", "run_due_drips", "run_drip", "handle_stripe_event"].includes(c.op))
  ) return null;
  if (calls.length < 2) return null;
  return { calls: calls.slice(0, 4), user: uid };
};

// ---------------------------------------------------------------------------------------------
// All commands
// ---------------------------------------------------------------------------------------------

/** 9.4: with main's bug, clock-driven expiry and clawbacks only while nobody holds tokens. */
const noActiveHolds = (w: World) =>
  !known("KNOWN_BUG_9_4_HOLD_VS_EXPIRY") || !w.s.holds.some((h) => h.status === "held");
const guarded = (w: World, b: Built | null): Built | null => (b && !noActiveHolds(w) ? null : b);

export function commandArbs(): fc.Arbitrary<Cmd>[] {
  const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
  return [fc.oneof(
    w(8, cmd("usage", usageArb, (wd, p) => ({ calls: [usageCall(wd, p)] }))),
    w(6, cmd("grant", grantArb, (wd, p) => ({ calls: [grantCall(wd, p)] }))),
    w(2, cmd("purchase", purchaseArb, (wd, p) => ({ calls: [purchaseCall(wd, p)] }))),
    w(
      6,
      cmd("reserve", reserveArb, (wd, p) => {
        const c = reserveCall(wd, p);
        return c && { calls: [c] };
      }),
    ),
    w(
      5,
      cmd("settle", settleArb, (wd, p) => {
        const c = settleCall(wd, p);
        return c && { calls: [c] };
      }),
    ),
    w(
      2,
      cmd("release", releaseArb, (wd, p) => {
        const c = releaseCall(wd, p);
        return c && { calls: [c] };
      }),
    ),
    w(
      2,
      cmd("balance", fc.record({ u: user, self: fc.boolean() }), (wd, p) => ({
        calls: [{
          op: "get_token_balance",
          caller: p.self ? asSelf(wd, p.u) : service,
          userId: p.self ? null : wd.users[p.u],
        }],
      })),
    ),
    w(4, cmd("advance_clock", advanceArb, advance)),
    w(
      2,
      cmd(
        "expire_holds",
        fc.constant({}),
        (wd) => ({ calls: [{ op: "expire_holds", caller: service, asOf: wd.V }] }),
      ),
    ),
    w(
      3,
      cmd(
        "expire_tokens",
        fc.constant({}),
        (wd) => guarded(wd, { calls: [{ op: "expire_tokens", caller: service, asOf: wd.V }] }),
      ),
    ),
    w(
      3,
      cmd(
        "run_due_drips",
        fc.record({ limit: fc.constantFrom(1, 2, 1000) }),
        (wd, p) => guarded(wd, { calls: [dueDripsCall(wd, p.limit)] }),
      ),
    ),
    w(
      2,
      cmd("run_drip", fc.record({ i: fc.nat() }), (wd, p) => {
        const c = runDripCall(wd, p.i);
        return guarded(wd, c && { calls: [c] });
      }),
    ),
    w(
      2,
      cmd("insert_subscription", insertSubArb, (wd, p) =>
        guarded(wd, {
          calls: [{
            op: "insert_subscription",
            userId: wd.users[p.u],
            planId: p.plan,
            status: p.status,
            anchor: anchorAt(wd, p.plan, p.anchor),
            ...(p.impossible && !known("KNOWN_BUG_9_6_SCHEDULE_CONSTRAINTS") ? { nextCycle: 0 } : {}),
          }],
        })),
    ),
    w(
      1,
      // a service write moving a subscription to another user (issue 9.7): refused, once that is in
      cmd("move_subscription", fc.record({ i: fc.nat(), to: user }), (wd, p) => {
        const sub = pick(wd.s.subs, p.i);
        if (!sub || known("KNOWN_BUG_9_7_SUBSCRIPTION_OWNER")) return null;
        const to = wd.users.find((u) => u !== sub.userId && u === wd.users[p.to]) ??
          wd.users.find((u) => u !== sub.userId)!;
        return { calls: [{ op: "move_subscription", subId: sub.id, toUserId: to }] };
      }),
    ),
    w(4, cmd("checkout", checkoutArb, (wd, p) => guarded(wd, checkoutCall(wd, p)))),
    w(4, cmd("subscription_event", subEventArb, (wd, p) => guarded(wd, subEventCall(wd, p)))),
    w(3, cmd("invoice_paid", invoiceArb, (wd, p) => guarded(wd, invoiceCall(wd, p)))),
    w(4, cmd("refund_or_dispute", clawArb, (wd, p) => guarded(wd, clawCall(wd, p)))),
    w(
      2,
      cmd("redeliver", redeliverArb, (wd, p) => {
        const e = pick(wd.events, p.i);
        return e ? guarded(wd, { http: p.http, calls: [stripeCall(e)] }) : null;
      }),
    ),
    w(1, cmd("unknown_event", fc.constant({}), (wd) => unknownEventCall(wd))),
    w(
      2,
      cmd("attribute_payment", fc.record({ i: fc.nat(), u: fc.nat({ max: 3 }) }), (wd, p) => {
        const session = pick([...wd.s.unattributed.keys()], p.i);
        if (!session) return null;
        return {
          calls: [{
            op: "attribute_payment",
            caller: service,
            session,
            userId: p.u === 3 ? STRANGER : wd.users[p.u],
          }],
        };
      }),
    ),
    w(
      3,
      cmd("replay_reservation", fc.record({ i: fc.nat() }), (wd, p) => {
        // a client retrying a reservation: its hold may have lapsed, been settled or released, or
        // its feature switched off since (the replay answers the first hold either way)
        const c = pick(wd.log.reserve, p.i);
        return c ? { calls: [c] } : null;
      }),
    ),
    w(
      3,
      cmd("set_feature", fc.record({ active: fc.boolean() }), (_wd, p) => ({
        calls: [{ op: "set_feature", feature: TOGGLED_FEATURE, active: p.active }],
      })),
    ),
    w(4, cmd("invalid", fc.record({ n: fc.nat() }), (wd, p) => ({ calls: [hostileCall(wd, p.n)] }))),
    w(5, cmd("at_once", groupArb, groupCalls)),
  )];
}
