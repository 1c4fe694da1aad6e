// Hostile inputs: every RPC called by the wrong caller, with other users' ids, forged claims,
// out-of-range numbers, over-long and reserved keys, wrong types and bad encodings. Two kinds:
//   * typed calls (a model Call): the model says which SQLSTATE the rules give;
//   * raw calls (argument text the database must parse): Postgres' own input errors. PostgREST
//     answers every class-22 error (22P02 bad syntax, 22003 out of range, 22007/22008 bad time,
//     22021 bad byte sequence, 22P05 untranslatable character, 22023) with HTTP 400.
// Both must write nothing. `hostileCall(w, n)` is deterministic in n, so a corpus is a list of n.
import { type Call, type Caller, DAY, type Json, MAX_TOKENS, RESERVED_PREFIXES } from "./model.ts";
import { known } from "./known_bugs.ts";
import { RETIRED_PACK, STRANGER, type World } from "./harness.ts";
import { rng } from "./rng.ts";

const service: Caller = { kind: "service" };
const anon: Caller = { kind: "anon" };

export const badTokens = [null, 0, -1, -1000, MAX_TOKENS + 1, 9.2e18 - 1] as const;
const goodOrBadKey = (w: World, r: ReturnType<typeof rng>) => {
  const keys: (string | null)[] = [null, "", "   ", "\t", "\n\u00a0\u3000", "k".repeat(256), "é".repeat(256)];
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
  const stranger = (u: string): Caller => ({
    kind: "user",
    userId: w.users.find((x) => x !== u)!,
    admin: r.int(2) === 1,
  });
  const newKey = () => `hostile${n}_${w.n++}`;
  const hold = w.s.holds.length ? w.s.holds[r.int(w.s.holds.length)] : null;
  const subId = w.s.subs.length ? w.s.subs[r.int(w.s.subs.length)].id : STRANGER;
  // a well-formed call of each RPC; a case changes one or two of its arguments
  const spend = (op: "record_usage" | "reserve_tokens") => (o: object = {}) =>
    ({ op, caller: service, userId: w.users[me], feature: "chat", tokens: 1, key: newKey(), ...o }) as Call;
  const usage = spend("record_usage");
  const reserve = spend("reserve_tokens");
  const grant = (o: object = {}) =>
    ({
      op: "grant_tokens",
      caller: service,
      userId: w.users[me],
      amount: 1,
      type: "admin_grant",
      key: newKey(),
      ...o,
    }) as Call;
  const purchase = (o: object = {}) =>
    ({
      op: "record_purchase",
      caller: service,
      userId: w.users[me],
      packId: "m_pack_1k",
      key: newKey(),
      amountCents: 100,
      currency: "usd",
      ...o,
    }) as Call;
  const settle = (o: object = {}) =>
    ({ op: "settle_hold", caller: service, holdId: hold?.id ?? STRANGER, used: 1, ...o }) as Call;
  const notService = () => r.pick([anon, self, adminCaller]);
  const cases: (() => Call)[] = [
    // record_usage
    () => usage({ caller: anon, userId: undefined }),
    () => usage({ caller: r.pick([self, adminCaller]), userId: w.users[other] }),
    () => usage({ userId: r.pick([null, STRANGER]) }),
    () => usage({ caller: r.pick([service, self]), tokens: r.pick(badTokens) }),
    () => usage({ key: goodOrBadKey(w, r) }),
    () => usage({ feature: r.pick([null, "CHAT", "unknown", "chat; drop table x", ""]) }),
    () => usage({ model: "m".repeat(201) }),
    () => usage({ metadata: r.pick(badMetadata) }),
    () => usage({ tokens: MAX_TOKENS }),
    // get_token_balance
    () => ({ op: "get_token_balance", caller: r.pick([anon, self]), userId: r.pick([w.users[other], null]) }),
    () => ({ op: "get_token_balance", caller: service, userId: null }),
    // grant_tokens
    () => grant({ caller: r.pick([anon, self]), userId: w.users[r.pick([me, other])] }),
    () => grant({ caller: r.pick([service, adminCaller]), userId: r.pick([null, STRANGER]) }),
    () => grant({ amount: r.pick(badTokens) }),
    () => grant({ type: r.pick([null, "purchase", "refund", "expiration", "ADMIN_GRANT", ""]) }),
    () => grant({ key: goodOrBadKey(w, r) }),
    () => grant({ type: "admin_deduction", expiresAt: w.T0 + DAY }),
    () => grant({ expiresAt: r.pick([w.T0 - DAY, 0]) }),
    () => grant({ source: "s".repeat(201) }),
    () => grant({ metadata: r.pick(badMetadata) }),
    () => grant({ type: "admin_deduction", amount: MAX_TOKENS }),
    ...(known("KNOWN_BUG_9_8_GRANT_INFINITY") ? [] : [() => grant({ expiresAt: "infinity" })]),
    // record_purchase
    () => purchase({ caller: notService() }),
    () => purchase({ userId: r.pick([null, STRANGER]) }),
    () => purchase({ packId: r.pick([null, "nope", RETIRED_PACK, ""]) }),
    () => purchase({ amountCents: r.pick([null, -1]) }),
    () => purchase({ currency: r.pick([null, "", "us", "usdd", "u$d", "12€"]) }),
    () => purchase({ key: goodOrBadKey(w, r) }),
    () => purchase({ metadata: r.pick(badMetadata) }),
    ...(known("KNOWN_BUG_9_8_PURCHASE_ID_LENGTH")
      ? []
      : [() => purchase({ pi: "p".repeat(r.pick([256, 100000])) })]),
    // reserve_tokens
    () => reserve({ caller: anon, userId: undefined }),
    () => reserve({ caller: r.pick([self, adminCaller]), userId: w.users[other] }),
    () => reserve({ userId: r.pick([null, STRANGER]) }),
    () => reserve({ tokens: r.pick(badTokens) }),
    () => reserve({ key: goodOrBadKey(w, r) }),
    () => reserve({ feature: r.pick(["nope", "Chat"]) }),
    () => reserve({ ttl: r.pick([null, 0, -5, 86401, 2147483647]) }),
    () => reserve({ tokens: MAX_TOKENS }),
    // settle_hold / release_hold
    () => settle({ caller: r.pick([service, self]), holdId: r.pick([null, STRANGER]) }),
    () => ({ op: "release_hold", caller: r.pick([service, self]), holdId: r.pick([null, STRANGER]) }),
    ...(hold
      ? [
        () => settle({ caller: r.pick([anon, stranger(hold.userId)]) }),
        (): Call => ({ op: "release_hold", caller: r.pick([anon, stranger(hold.userId)]), holdId: hold.id }),
        () => settle({ used: r.pick([null, -1, MAX_TOKENS + 1]) }),
        () => settle({ model: "m".repeat(201) }),
        () => settle({ metadata: r.pick(badMetadata) }),
      ]
      : []),
    // service-only functions, and their own arguments
    () => ({ op: r.pick(["expire_holds", "expire_tokens"] as const), caller: notService(), asOf: w.V }),
    () => ({ op: "run_due_drips", caller: notService(), asOf: w.V, limit: 10 }),
    () => ({ op: "run_drip", caller: notService(), subId, asOf: w.V }),
    () => ({ op: "verify_token_ledger", caller: notService() }),
    () => ({
      op: "handle_stripe_event",
      caller: notService(),
      event: { id: "evt_x", type: "x", created: 1, data: { object: {} } },
    }),
    () => ({ op: r.pick(["expire_holds", "expire_tokens"] as const), caller: service, asOf: null }),
    () => ({
      op: "run_due_drips",
      caller: service,
      asOf: r.pick([null, w.V]),
      limit: r.pick([null, 0, -1, 100001]),
    }),
    () => ({ op: "run_drip", caller: service, subId: r.pick([null, STRANGER]), asOf: w.V }),
    () => ({ op: "run_drip", caller: service, subId, asOf: null }),
    ...(known("KNOWN_BUG_9_8_AS_OF_WINDOW") ? [] : [
      (): Call => ({
        op: "run_due_drips",
        caller: service,
        asOf: w.T0 + r.pick([1, -1]) * 3650 * DAY,
        limit: 10,
      }),
      (): Call => ({ op: "run_drip", caller: service, subId, asOf: w.T0 + 3650 * DAY }),
    ]),
    () => ({ op: r.pick(["expire_holds", "expire_tokens"] as const), caller: service, asOf: "infinity" }),
    () => ({ op: "attribute_payment", caller: notService(), session: "cs_x", userId: w.users[me] }),
    () => ({
      op: "attribute_payment",
      caller: service,
      session: r.pick([null, "cs_nobody_kept"]),
      userId: w.users[me],
    }),
    () => ({ op: "attribute_payment", caller: service, session: "cs_x", userId: null }),
    // handle_stripe_event: not an event
    () => ({ op: "handle_stripe_event", caller: service, event: r.pick(notEvents) }),
  ];
  return r.pick(cases)();
}

const event = { id: "evt_ok", object: "event", type: "x", created: 1, data: { object: {} } };
const notEvents: Json[] = [
  null,
  [],
  "evt_x",
  42,
  {},
  { id: "evt_x" },
  { ...event, id: "not_an_event" },
  { ...event, id: `evt_${"a".repeat(245)}` },
  { ...event, id: "evt_bad-char" },
  { ...event, object: "list" },
  { ...event, type: "" },
  { ...event, type: "t".repeat(256) },
  { id: "evt_ok", object: "event", type: "x", data: { object: {} } },
  { ...event, created: "yesterday" },
  { ...event, created: 1.5 },
  { ...event, created: -1 },
  { ...event, created: 253402300800 },
  { ...event, livemode: "yes" },
  { ...event, data: { object: [] } },
  { ...event, data: [] },
];

/** Raw hostile calls: argument text the database parses itself, and the SQLSTATEs that may answer. */
export interface RawCall {
  caller: Caller;
  fn: string;
  args: [string, string, string | null][];
  expect: string[];
}

const garbageNumbers = [
  "abc",
  "1.5",
  "1e3",
  "",
  " ",
  "9223372036854775808",
  "-9223372036854775809",
  "0x10",
  "1_000",
  "１２",
];
const garbageUuids = ["not-a-uuid", "", "00000000-0000-0000-0000", "'; drop table auth.users; --", "{}"];
const garbageTimes = ["yesterday-ish", "2026-13-45", "", "294277-01-01", "now() + 1"];
const garbageJson = ["{", "{'a': 1}", "[1,", "nul", '{"a": NaN}', ""];
const withNul = ["a\u0000b", "\u0000"];
const jsonNul = ['{"a": "\\u0000"}'];

export function hostileRaw(w: World, n: number): RawCall {
  const r = rng(n ^ 0x5bd1e995);
  const u = w.users[r.int(w.users.length)];
  const key = `raw${n}`;
  // well-formed arguments of each RPC; a case replaces one of them with garbage
  const base: Record<string, [string, string, string | null][]> = {
    record_usage: [["p_feature", "text", "chat"], ["p_tokens", "bigint", "1"], [
      "p_idempotency_key",
      "text",
      key,
    ], ["p_user_id", "uuid", u]],
    grant_tokens: [["p_user_id", "uuid", u], ["p_amount", "bigint", "5"], ["p_type", "text", "admin_grant"], [
      "p_idempotency_key",
      "text",
      key,
    ]],
    reserve_tokens: [["p_feature", "text", "chat"], ["p_tokens", "bigint", "1"], [
      "p_idempotency_key",
      "text",
      key,
    ], ["p_user_id", "uuid", u]],
    record_purchase: [
      ["p_user_id", "uuid", u],
      ["p_pack_id", "text", "m_pack_1k"],
      ["p_idempotency_key", "text", key],
      ["p_amount_cents", "bigint", "0"],
      ["p_currency", "text", "usd"],
    ],
    settle_hold: [["p_hold_id", "uuid", STRANGER], ["p_tokens_used", "bigint", "1"]],
    release_hold: [["p_hold_id", "uuid", STRANGER]],
    expire_holds: [["p_as_of", "timestamptz", "now"]],
    expire_tokens: [["p_as_of", "timestamptz", "now"]],
    run_due_drips: [["p_as_of", "timestamptz", "now"], ["p_limit", "integer", "10"]],
    handle_stripe_event: [["p_event", "jsonb", "{}"]],
  };
  const bad = (
    fn: string,
    name: string,
    type: string,
    values: readonly string[],
    expect: string[],
  ): RawCall => {
    const args = base[fn].filter(([a]) => a !== name);
    return { caller: service, fn, args: [...args, [name, type, r.pick(values)]], expect };
  };
  const numeric = ["22P02", "22003"];
  const cases: (() => RawCall)[] = [
    () => bad("record_usage", "p_tokens", "bigint", garbageNumbers, numeric),
    () => bad("record_usage", "p_user_id", "uuid", garbageUuids, ["22P02"]),
    () => bad("record_usage", "p_idempotency_key", "text", withNul, ["22021"]),
    () => bad("record_usage", "p_metadata", "jsonb", garbageJson, ["22P02"]),
    () => bad("record_usage", "p_metadata", "jsonb", jsonNul, ["22P05"]),
    () => bad("grant_tokens", "p_amount", "bigint", garbageNumbers, numeric),
    () => bad("grant_tokens", "p_expires_at", "timestamptz", garbageTimes, ["22007", "22008"]),
    () => bad("reserve_tokens", "p_ttl_seconds", "integer", [...garbageNumbers, "2147483648"], numeric),
    () => bad("settle_hold", "p_hold_id", "uuid", garbageUuids, ["22P02"]),
    () => bad("release_hold", "p_hold_id", "uuid", garbageUuids, ["22P02"]),
    () =>
      bad(r.pick(["expire_holds", "expire_tokens"]), "p_as_of", "timestamptz", garbageTimes, [
        "22007",
        "22008",
      ]),
    () => bad("run_due_drips", "p_limit", "integer", garbageNumbers, numeric),
    () => bad("handle_stripe_event", "p_event", "jsonb", [...garbageJson, ...jsonNul], ["22P02", "22P05"]),
    () => bad("record_purchase", "p_amount_cents", "bigint", garbageNumbers, numeric),
    // a signed-in user is not the service, whatever the arguments
    () => ({
      ...bad("grant_tokens", "p_amount", "bigint", ["1000"], ["42501"]),
      caller: { kind: "user", userId: u },
    }),
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
