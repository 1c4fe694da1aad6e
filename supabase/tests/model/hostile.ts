// Hostile inputs: every RPC called by the wrong caller, with other users' ids, forged claims,
// out-of-range numbers, over-long and reserved keys, wrong types and bad encodings. Two kinds:
//   * typed calls (a model Call): the model says which SQLSTATE the rules give;
//   * raw calls (argument text the database must parse): Postgres' own input errors. PostgREST
//     answers every class-22 error (22P02 bad syntax, 22003 out of range, 22007/22008 bad time,
//     22021 bad byte sequence, 22P05 untranslatable character, 22023) with HTTP 400.
// Both must write nothing. `hostileCall(w, n)` is deterministic in n, so a corpus is a list of n.
import { type Call, type Caller, DAY, MAX_TOKENS, RESERVED_PREFIXES, type Json } from "./model.ts";
import { known } from "./known_bugs.ts";
import { RETIRED_PACK, STRANGER, type World } from "./harness.ts";

/** A small deterministic generator (mulberry32) so that entry n is always the same input. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}

const service: Caller = { kind: "service" };
const anon: Caller = { kind: "anon" };

export const badTokens = [null, 0, -1, -1000, MAX_TOKENS + 1, 9.2e18 - 1] as const;
const goodOrBadKey = (w: World, r: ReturnType<typeof rng>) => {
  const keys: (string | null)[] = [null, "", "   ", "\t", "k".repeat(256), "é".repeat(256)];
  if (!known("KNOWN_BUG_9_10_RESERVED_PREFIXES")) keys.push(...RESERVED_PREFIXES.map((p) => `${p}${w.n++}`));
  return r.pick(keys);
};
const badMetadata: Json[] = [[], "text", 42, true, [1, 2], { pad: "x".repeat(17000) }];

/** A typed hostile call for the current world. */
export function hostileCall(w: World, n: number): Call {
  const r = rng(n);
  const me = r.int(w.users.length);
  const other = (me + 1 + r.int(w.users.length - 1)) % w.users.length;
  const self: Caller = { kind: "user", userId: w.users[me] };
  const adminCaller: Caller = { kind: "user", userId: w.users[me], admin: true };
  const newKey = () => `hostile${n}_${w.n++}`;
  const someHold = w.s.holds.length ? w.s.holds[r.int(w.s.holds.length)] : null;
  const someSub = w.s.subs.length ? w.s.subs[r.int(w.s.subs.length)] : null;
  const cases: (() => Call)[] = [
    // record_usage
    () => ({ op: "record_usage", caller: anon, feature: "chat", tokens: 1, key: newKey() }),
    () => ({ op: "record_usage", caller: r.pick([self, adminCaller]), userId: w.users[other], feature: "chat", tokens: 1, key: newKey() }),
    () => ({ op: "record_usage", caller: service, userId: null, feature: "chat", tokens: 1, key: newKey() }),
    () => ({ op: "record_usage", caller: service, userId: STRANGER, feature: "chat", tokens: 1, key: newKey() }),
    () => ({ op: "record_usage", caller: r.pick([service, self]), userId: r.pick([null, w.users[me]]), feature: "chat", tokens: r.pick(badTokens), key: newKey() }),
    () => ({ op: "record_usage", caller: service, userId: w.users[me], feature: "chat", tokens: 1, key: goodOrBadKey(w, r) }),
    () => ({ op: "record_usage", caller: service, userId: w.users[me], feature: r.pick([null, "CHAT", "unknown", "chat; drop table x", ""]), tokens: 1, key: newKey() }),
    () => ({ op: "record_usage", caller: service, userId: w.users[me], feature: "chat", tokens: 1, key: newKey(), model: "m".repeat(201) }),
    () => ({ op: "record_usage", caller: service, userId: w.users[me], feature: "chat", tokens: 1, key: newKey(), metadata: r.pick(badMetadata) }),
    () => ({ op: "record_usage", caller: service, userId: w.users[me], feature: "chat", tokens: MAX_TOKENS, key: newKey() }),
    // get_token_balance
    () => ({ op: "get_token_balance", caller: r.pick([anon, self]), userId: r.pick([w.users[other], null]) }),
    () => ({ op: "get_token_balance", caller: service, userId: null }),
    // grant_tokens
    () => ({ op: "grant_tokens", caller: r.pick([anon, self]), userId: w.users[r.pick([me, other])], amount: 1, type: "admin_grant", key: newKey() }),
    () => ({ op: "grant_tokens", caller: r.pick([service, adminCaller]), userId: r.pick([null, STRANGER]), amount: 1, type: "admin_grant", key: newKey() }),
    () => ({ op: "grant_tokens", caller: service, userId: w.users[me], amount: r.pick(badTokens), type: "admin_grant", key: newKey() }),
    () => ({ op: "grant_tokens", caller: service, userId: w.users[me], amount: 1, type: r.pick([null, "purchase", "refund", "expiration", "ADMIN_GRANT", ""]), key: newKey() }),
    () => ({ op: "grant_tokens", caller: service, userId: w.users[me], amount: 1, type: "admin_grant", key: goodOrBadKey(w, r) }),
    () => ({ op: "grant_tokens", caller: service, userId: w.users[me], amount: 1, type: "admin_deduction", key: newKey(), expiresAt: w.T0 + DAY }),
    () => ({ op: "grant_tokens", caller: service, userId: w.users[me], amount: 1, type: "admin_grant", key: newKey(), expiresAt: r.pick([w.T0 - DAY, 0]) }),
    () => ({ op: "grant_tokens", caller: service, userId: w.users[me], amount: 1, type: "admin_grant", key: newKey(), source: "s".repeat(201) }),
    () => ({ op: "grant_tokens", caller: service, userId: w.users[me], amount: 1, type: "admin_grant", key: newKey(), metadata: r.pick(badMetadata) }),
    () => ({ op: "grant_tokens", caller: service, userId: w.users[me], amount: MAX_TOKENS, type: "admin_deduction", key: newKey() }),
    // record_purchase
    () => ({ op: "record_purchase", caller: r.pick([anon, self, adminCaller]), userId: w.users[me], packId: "m_pack_1k", key: newKey(), amountCents: 100, currency: "usd" }),
    () => ({ op: "record_purchase", caller: service, userId: r.pick([null, STRANGER]), packId: "m_pack_1k", key: newKey(), amountCents: 100, currency: "usd" }),
    () => ({ op: "record_purchase", caller: service, userId: w.users[me], packId: r.pick([null, "nope", RETIRED_PACK, ""]), key: newKey(), amountCents: 100, currency: "usd" }),
    () => ({ op: "record_purchase", caller: service, userId: w.users[me], packId: "m_pack_1k", key: newKey(), amountCents: r.pick([null, -1]), currency: "usd" }),
    () => ({ op: "record_purchase", caller: service, userId: w.users[me], packId: "m_pack_1k", key: newKey(), amountCents: 100, currency: r.pick([null, "", "us", "usdd", "u$d", "12€"]) }),
    () => ({ op: "record_purchase", caller: service, userId: w.users[me], packId: "m_pack_1k", key: goodOrBadKey(w, r), amountCents: 100, currency: "usd" }),
    () => ({ op: "record_purchase", caller: service, userId: w.users[me], packId: "m_pack_1k", key: newKey(), amountCents: 100, currency: "usd", metadata: r.pick(badMetadata) }),
    ...(known("KNOWN_BUG_9_8_PURCHASE_ID_LENGTH") ? [] : [
      (): Call => ({ op: "record_purchase", caller: service, userId: w.users[me], packId: "m_pack_1k", key: newKey(), amountCents: 100, currency: "usd", pi: "p".repeat(r.pick([256, 100000])) }),
    ]),
    // reserve_tokens
    () => ({ op: "reserve_tokens", caller: anon, feature: "chat", tokens: 1, key: newKey() }),
    () => ({ op: "reserve_tokens", caller: r.pick([self, adminCaller]), userId: w.users[other], feature: "chat", tokens: 1, key: newKey() }),
    () => ({ op: "reserve_tokens", caller: service, userId: r.pick([null, STRANGER]), feature: "chat", tokens: 1, key: newKey() }),
    () => ({ op: "reserve_tokens", caller: service, userId: w.users[me], feature: "chat", tokens: r.pick(badTokens), key: newKey() }),
    () => ({ op: "reserve_tokens", caller: service, userId: w.users[me], feature: "chat", tokens: 1, key: goodOrBadKey(w, r) }),
    () => ({ op: "reserve_tokens", caller: service, userId: w.users[me], feature: r.pick(["nope", "Chat"]), tokens: 1, key: newKey() }),
    () => ({ op: "reserve_tokens", caller: service, userId: w.users[me], feature: "chat", tokens: 1, key: newKey(), ttl: r.pick([null, 0, -5, 86401, 2147483647]) }),
    () => ({ op: "reserve_tokens", caller: service, userId: w.users[me], feature: "chat", tokens: MAX_TOKENS, key: newKey() }),
    // settle_hold / release_hold
    () => ({ op: "settle_hold", caller: r.pick([service, self]), holdId: r.pick([null, STRANGER]), used: 1 }),
    () => ({ op: "release_hold", caller: r.pick([service, self]), holdId: r.pick([null, STRANGER]) }),
    ...(someHold ? [
      (): Call => ({ op: "settle_hold", caller: r.pick([anon, { kind: "user", userId: w.users.find((u) => u !== someHold.userId)! }, { kind: "user", userId: w.users.find((u) => u !== someHold.userId)!, admin: true }] as Caller[]), holdId: someHold.id, used: 1 }),
      (): Call => ({ op: "release_hold", caller: r.pick([anon, { kind: "user", userId: w.users.find((u) => u !== someHold.userId)! }] as Caller[]), holdId: someHold.id }),
      (): Call => ({ op: "settle_hold", caller: service, holdId: someHold.id, used: r.pick([null, -1, MAX_TOKENS + 1]) }),
      (): Call => ({ op: "settle_hold", caller: service, holdId: someHold.id, used: 1, model: "m".repeat(201) }),
      (): Call => ({ op: "settle_hold", caller: service, holdId: someHold.id, used: 1, metadata: r.pick(badMetadata) }),
    ] : []),
    // service-only functions
    () => ({ op: "expire_holds", caller: r.pick([anon, self, adminCaller]), asOf: w.V }),
    () => ({ op: "expire_tokens", caller: r.pick([anon, self, adminCaller]), asOf: w.V }),
    () => ({ op: "run_due_drips", caller: r.pick([anon, self, adminCaller]), asOf: w.V, limit: 10 }),
    () => ({ op: "run_drip", caller: r.pick([anon, self, adminCaller]), subId: someSub?.id ?? STRANGER, asOf: w.V }),
    () => ({ op: "verify_token_ledger", caller: r.pick([anon, self, adminCaller]) }),
    () => ({ op: "handle_stripe_event", caller: r.pick([anon, self, adminCaller]), event: { id: "evt_x", type: "x", created: 1, data: { object: {} } } }),
    () => ({ op: r.pick(["expire_holds", "expire_tokens"] as const), caller: service, asOf: null }),
    () => ({ op: "run_due_drips", caller: service, asOf: r.pick([null, w.V]), limit: r.pick([null, 0, -1, 100001]) }),
    () => ({ op: "run_drip", caller: service, subId: r.pick([null, STRANGER]), asOf: w.V }),
    () => ({ op: "run_drip", caller: service, subId: someSub?.id ?? STRANGER, asOf: null }),
    ...(known("KNOWN_BUG_9_8_AS_OF_WINDOW") ? [] : [
      (): Call => ({ op: "run_due_drips", caller: service, asOf: w.T0 + r.pick([1, -1]) * 3650 * DAY, limit: 10 }),
      (): Call => ({ op: "run_drip", caller: service, subId: someSub?.id ?? STRANGER, asOf: w.T0 + 3650 * DAY }),
    ]),
    // handle_stripe_event: not an event
    () => ({ op: "handle_stripe_event", caller: service, event: r.pick<Json>([
      null, [], "evt_x", 42, {}, { id: "evt_x" },
      { id: "not_an_event", type: "x", created: 1, data: { object: {} } },
      { id: `evt_${"a".repeat(251)}`, type: "x", created: 1, data: { object: {} } },
      { id: "evt_ok", type: "", created: 1, data: { object: {} } },
      { id: "evt_ok", type: "x", data: { object: {} } },
      { id: "evt_ok", type: "x", created: "yesterday", data: { object: {} } },
      { id: "evt_ok", type: "x", created: 1.5, data: { object: {} } },
      { id: "evt_ok", type: "x", created: -1, data: { object: {} } },
      { id: "evt_ok", type: "x", created: 1, data: { object: [] } },
      { id: "evt_ok", type: "x", created: 1, data: [] },
      { id: "evt_bad-char", type: "x", created: 1, data: { object: {} } },
    ]) }),
  ];
  return r.pick(cases)();
}

/** Raw hostile calls: argument text the database parses itself, and the SQLSTATEs that may answer. */
export interface RawCall {
  caller: Caller;
  fn: string;
  args: [string, string, string | null][];
  expect: string[];
}

const garbageNumbers = ["abc", "1.5", "1e3", "", " ", "9223372036854775808", "-9223372036854775809", "0x10", "1_000", "１２"];
const garbageUuids = ["not-a-uuid", "", "00000000-0000-0000-0000", "'; drop table auth.users; --", "{}"];
const garbageTimes = ["yesterday-ish", "2026-13-45", "", "294277-01-01", "now() + 1"];
const garbageJson = ["{", "{'a': 1}", "[1,", "nul", "{\"a\": NaN}", ""];
const withNul = ["a\u0000b", "\u0000"];
const jsonNul = ['{"a": "\\u0000"}'];

export function hostileRaw(w: World, n: number): RawCall {
  const r = rng(n ^ 0x5bd1e995);
  const u = w.users[r.int(w.users.length)];
  const svc = service;
  const cases: (() => RawCall)[] = [
    () => ({ caller: svc, fn: "record_usage", args: [["p_feature", "text", "chat"], ["p_tokens", "bigint", r.pick(garbageNumbers)], ["p_idempotency_key", "text", `raw${n}`], ["p_user_id", "uuid", u]], expect: ["22P02", "22003"] }),
    () => ({ caller: svc, fn: "record_usage", args: [["p_feature", "text", "chat"], ["p_tokens", "bigint", "1"], ["p_idempotency_key", "text", `raw${n}`], ["p_user_id", "uuid", r.pick(garbageUuids)]], expect: ["22P02"] }),
    () => ({ caller: svc, fn: "record_usage", args: [["p_feature", "text", "chat"], ["p_tokens", "bigint", "1"], ["p_idempotency_key", "text", r.pick(withNul)], ["p_user_id", "uuid", u]], expect: ["22021"] }),
    () => ({ caller: svc, fn: "record_usage", args: [["p_feature", "text", "chat"], ["p_tokens", "bigint", "1"], ["p_idempotency_key", "text", `raw${n}`], ["p_user_id", "uuid", u], ["p_metadata", "jsonb", r.pick(garbageJson)]], expect: ["22P02"] }),
    () => ({ caller: svc, fn: "record_usage", args: [["p_feature", "text", "chat"], ["p_tokens", "bigint", "1"], ["p_idempotency_key", "text", `raw${n}`], ["p_user_id", "uuid", u], ["p_metadata", "jsonb", r.pick(jsonNul)]], expect: ["22P05"] }),
    () => ({ caller: svc, fn: "grant_tokens", args: [["p_user_id", "uuid", u], ["p_amount", "bigint", r.pick(garbageNumbers)], ["p_type", "text", "admin_grant"], ["p_idempotency_key", "text", `raw${n}`]], expect: ["22P02", "22003"] }),
    () => ({ caller: svc, fn: "grant_tokens", args: [["p_user_id", "uuid", u], ["p_amount", "bigint", "5"], ["p_type", "text", "admin_grant"], ["p_idempotency_key", "text", `raw${n}`], ["p_expires_at", "timestamptz", r.pick(garbageTimes)]], expect: ["22007", "22008"] }),
    () => ({ caller: svc, fn: "reserve_tokens", args: [["p_feature", "text", "chat"], ["p_tokens", "bigint", "1"], ["p_idempotency_key", "text", `raw${n}`], ["p_user_id", "uuid", u], ["p_ttl_seconds", "integer", r.pick([...garbageNumbers, "2147483648"])]], expect: ["22P02", "22003"] }),
    () => ({ caller: svc, fn: "settle_hold", args: [["p_hold_id", "uuid", r.pick(garbageUuids)], ["p_tokens_used", "bigint", "1"]], expect: ["22P02"] }),
    () => ({ caller: svc, fn: "release_hold", args: [["p_hold_id", "uuid", r.pick(garbageUuids)]], expect: ["22P02"] }),
    () => ({ caller: svc, fn: r.pick(["expire_holds", "expire_tokens"]), args: [["p_as_of", "timestamptz", r.pick(garbageTimes)]], expect: ["22007", "22008"] }),
    () => ({ caller: svc, fn: "run_due_drips", args: [["p_as_of", "timestamptz", "now"], ["p_limit", "integer", r.pick(garbageNumbers)]], expect: ["22P02", "22003"] }),
    () => ({ caller: svc, fn: "handle_stripe_event", args: [["p_event", "jsonb", r.pick([...garbageJson, ...jsonNul])]], expect: ["22P02", "22P05"] }),
    () => ({ caller: svc, fn: "record_purchase", args: [["p_user_id", "uuid", u], ["p_pack_id", "text", "m_pack_1k"], ["p_idempotency_key", "text", `raw${n}`], ["p_amount_cents", "bigint", r.pick(garbageNumbers)], ["p_currency", "text", "usd"]], expect: ["22P02", "22003"] }),
    // forged claims: the role PostgREST set decides, not a claim in the token's body
    () => ({ caller: { kind: "user", userId: u }, fn: "grant_tokens", args: [["p_user_id", "uuid", u], ["p_amount", "bigint", "1000"], ["p_type", "text", "admin_grant"], ["p_idempotency_key", "text", `raw${n}`]], expect: ["42501"] }),
  ];
  return r.pick(cases)();
}

/** Claims a forger might put in a JWT body, each for a role PostgREST set from a real token. */
export const forgedClaims = (u: string): { role: string; claims: Record<string, Json> }[] => [
  { role: "authenticated", claims: { sub: u, role: "service_role" } },
  { role: "authenticated", claims: { sub: u, role: "authenticated", user_metadata: { role: "admin" } } },
  { role: "authenticated", claims: { sub: u, role: "authenticated", app_metadata: "admin" } },
  { role: "authenticated", claims: { sub: u, role: "authenticated", app_metadata: { role: ["admin"] } } },
  { role: "anon", claims: { sub: u, role: "anon", app_metadata: { role: "admin" } } },
  { role: "anon", claims: { role: "service_role" } },
];
