// The hostile corpus: `size` generated hostile inputs across every RPC and the webhook, each
// expected to get its documented SQLSTATE (or HTTP status) and to write nothing. Entry n of a
// corpus is the same input for the same seed (hostile.ts), so `npm test` keeps one fixed corpus
// (CORPUS_SEED) and the long run draws new ones.
//
// "Writes nothing" is checked on the whole database: a digest of every row of every table in
// public, private and auth is taken before and after each batch of inputs; a batch that changed
// it is reported with its inputs.
import { apply, type Call, clone, type Json } from "./model.ts";
import { enter, run, type Sql } from "./db.ts";
import { describe, diffOutcome, newWorld, type Real, seedBalances, step, type World } from "./harness.ts";
import { forgedClaims, hostileCall, hostileRaw } from "./hostile.ts";
import { rng } from "./rng.ts";
import { rpcSql } from "./db.ts";
import { known } from "./known_bugs.ts";
import { paidPackSession, postEvent, signature, stripeEvent, testWebhookSecret } from "../deno/_stripe.ts";

export const CORPUS_SEED = 20261128;

/** A digest of every row of every table the ledger owns (and auth.users). */
export async function footprint(sql: Sql): Promise<string> {
  const tables = await sql`
    select format('%I.%I', schemaname, tablename) as t from pg_tables
    where schemaname in ('public', 'private', 'auth') order by 1`;
  const parts = tables.map((x) =>
    `(select coalesce(md5(string_agg(r::text, ',' order by r::text)), '') from ${x.t} r)`
  );
  const [row] = await sql.unsafe(`select md5(concat_ws('|', ${parts.join(", ")})) as d`);
  return row.d;
}

type Entry = { what: string; exec: () => Promise<string | null> }; // null: as expected; else the problem

async function rawCall(
  sql: Sql,
  role: string,
  claims: Record<string, Json>,
  fn: string,
  args: [string, string, string | null][],
) {
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(`select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`, [
        role,
        JSON.stringify(claims),
      ]);
      const q = rpcSql(fn, args);
      await tx.unsafe(q.text, q.params as never[]);
    });
    return "ok";
  } catch (e) {
    const err = e as { code?: string };
    if (!err.code) throw e;
    return err.code;
  }
}

/** Webhook requests that must be refused before anything is written: [what, request, status]. */
function hostileRequest(url: string, n: number): [string, () => Promise<Response>, number][] {
  const r = rng(n ^ 0x1234567);
  const good = {
    ...stripeEvent("checkout.session.completed", paidPackSession(`cs_hostile_${n}`, null)),
    id: `evt_hostile_${n}`,
  };
  const text = JSON.stringify(good);
  const now = Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<Response>, number][] = [
    ["no signature", () => postEvent(url, text, { signature: null }), 400],
    [
      "garbage signature",
      () =>
        postEvent(url, text, {
          signature: r.pick(["x", "t=1,v1=00", `t=${now}`, `v1=${"a".repeat(64)}`, "t=abc,v1=def"]),
        }),
      400,
    ],
    ["another secret", () => postEvent(url, text, { secret: "whsec_attacker_0000000000" }), 400],
    ["signed ten minutes ago", () => postEvent(url, text, { timestamp: now - 600 - r.int(100000) }), 400],
    [
      "body changed after signing",
      () => postEvent(url, text.replace("paid", "PAID"), { signedPayload: text }),
      400,
    ],
    ["empty body", () => postEvent(url, "", { signedPayload: "" }), 400],
    ["not JSON", () => postEvent(url, r.pick(["{", "nul", "<xml/>", "\u0000"])), 400],
    [
      "JSON that is not an event",
      () =>
        postEvent(
          url,
          JSON.stringify(
            r.pick<Json>([
              [],
              1,
              "evt",
              null,
              {},
              { id: "evt_x" },
              { ...good, object: "list" },
              { ...good, id: "ch_1" },
              { ...good, type: "" },
              { ...good, data: null },
            ]),
          ),
        ),
      400,
    ],
    ["method", () => fetch(url, { method: r.pick(["GET", "PUT", "DELETE", "PATCH"]) }), 405],
  ];
  if (!known("KNOWN_BUG_9_8_WEBHOOK_400")) {
    const bad: Json[] = [
      Object.fromEntries(Object.entries(good).filter(([k]) => k !== "created")) as Json,
      { ...good, created: "yesterday" },
      { ...good, created: 1.5 },
      { ...good, id: `evt_${"a".repeat(251)}` },
      { ...good, data: { object: [] } },
      { ...good, data: { object: { ...good.data.object, id: "cs_\u0000" } } },
    ];
    cases.push([
      "signed event the database cannot take",
      () => postEvent(url, JSON.stringify(r.pick(bad))),
      400,
    ]);
  }
  // a large body, signed: refused as a whole
  cases.push([
    "1 MB signed body that is not an event",
    () => postEvent(url, JSON.stringify({ pad: "x".repeat(1 << 20) })),
    400,
  ]);
  return cases;
}

export interface CorpusReport {
  inputs: number;
  skipped: number; // typed inputs the rules accept (not hostile after all in this world)
  failures: string[];
}

/** A world with something to attack: balances, holds, a subscription, a purchase. */
async function target(r: Real): Promise<World> {
  const w = await newWorld(r);
  await seedBalances(w, r);
  const service = { kind: "service" } as const;
  for (const [i, u] of w.users.entries()) {
    await step(w, r, [{
      op: "reserve_tokens",
      caller: service,
      userId: u,
      feature: "chat",
      tokens: 100,
      key: `h${i}`,
      ttl: 600,
    }]);
  }
  await step(w, r, [{
    op: "insert_subscription",
    userId: w.users[0],
    planId: "m_small",
    status: "active",
    anchor: w.T0 - 3 * 3600e6,
  }]);
  await step(w, r, [{
    op: "record_purchase",
    caller: service,
    userId: w.users[1],
    packId: "m_pack_1k",
    key: "p1",
    amountCents: 500,
    currency: "usd",
    pi: "pi_corpus",
  }]);
  const hold = w.s.holds[1];
  await step(w, r, [{ op: "settle_hold", caller: service, holdId: hold.id, used: 50 }]);
  await step(w, r, [{ op: "release_hold", caller: service, holdId: w.s.holds[2].id }]);
  return w;
}

export async function runCorpus(r: Real, opts: { seed: number; size: number }): Promise<CorpusReport> {
  const w = await target(r);
  const report: CorpusReport = { inputs: 0, skipped: 0, failures: [] };
  const entries: Entry[] = [];
  for (let i = 0; entries.length < opts.size; i++) {
    const n = (opts.seed + i * 7919) >>> 0;
    const kind = i % 20;
    if (kind < 12) {
      const call = hostileCall(w, n);
      const exp = apply(clone(w.s), call, w.lastT);
      if (exp.ok) {
        report.skipped++;
        continue;
      }
      entries.push({
        what: describe([call]),
        exec: async () => {
          const { outcome } = await run(r.sql, call as Call);
          if (outcome.ok) {
            return `expected ${exp.code}, got success ${JSON.stringify(outcome.value).slice(0, 200)}`;
          }
          return outcome.code === exp.code
            ? null
            : `expected ${exp.code}, got ${outcome.code} ${outcome.message}`;
        },
      });
    } else if (kind < 16) {
      const raw = hostileRaw(w, n);
      const c: { role: string; claims: Record<string, Json> } = raw.caller.kind === "user"
        ? { role: "authenticated", claims: { sub: raw.caller.userId, role: "authenticated" } }
        : { role: "service_role", claims: { role: "service_role" } };
      entries.push({
        what: `${raw.fn}(${JSON.stringify(raw.args).slice(0, 300)}) as ${c.role}`,
        exec: async () => {
          const code = await rawCall(r.sql, c.role, c.claims, raw.fn, raw.args);
          return raw.expect.includes(code) ? null : `expected ${raw.expect.join(" or ")}, got ${code}`;
        },
      });
    } else if (kind < 18) {
      const rr = rng(n);
      const me = w.users[rr.int(w.users.length)];
      const other = w.users.find((u) => u !== me)!;
      const forged = rr.pick(forgedClaims(me));
      const fn = rr.pick([
        ["grant_tokens", [["p_user_id", "uuid", me], ["p_amount", "bigint", "1000"], [
          "p_type",
          "text",
          "admin_grant",
        ], ["p_idempotency_key", "text", `forged${n}`]]],
        ["record_usage", [["p_feature", "text", "chat"], ["p_tokens", "bigint", "1"], [
          "p_idempotency_key",
          "text",
          `forged${n}`,
        ], ["p_user_id", "uuid", other]]],
        ["get_token_balance", [["p_user_id", "uuid", other]]],
        ["record_purchase", [
          ["p_user_id", "uuid", me],
          ["p_pack_id", "text", "m_pack_1k"],
          ["p_idempotency_key", "text", `forged${n}`],
          ["p_amount_cents", "bigint", "0"],
          ["p_currency", "text", "usd"],
        ]],
        ["run_due_drips", [["p_as_of", "timestamptz", "now"], ["p_limit", "integer", "10"]]],
        ["release_hold", [["p_hold_id", "uuid", w.s.holds.find((h) => h.userId === other)!.id]]],
      ] as [string, [string, string, string | null][]][]);
      entries.push({
        what: `${fn[0]} with forged claims ${JSON.stringify(forged)}`,
        exec: async () => {
          const code = await rawCall(r.sql, forged.role, forged.claims, fn[0], fn[1]);
          return code === "42501" ? null : `expected 42501, got ${code}`;
        },
      });
    } else if (r.webhookUrl) {
      for (const [what, send, status] of hostileRequest(r.webhookUrl, n)) {
        if (entries.length >= opts.size) break;
        entries.push({
          what: `webhook: ${what}`,
          exec: async () => {
            const res = await send();
            await res.body?.cancel();
            return res.status === status ? null : `expected HTTP ${status}, got ${res.status}`;
          },
        });
      }
    }
  }
  // In batches: every input checked one by one, the database digest around each batch.
  const started = w.lastT;
  const batch = 50;
  for (let i = 0; i < entries.length; i += batch) {
    const before = await footprint(r.check);
    const slice = entries.slice(i, i + batch);
    for (const e of slice) {
      report.inputs++;
      const problem = await e.exec();
      if (problem) report.failures.push(`${e.what}: ${problem}`);
    }
    const after = await footprint(r.check);
    if (after !== before) {
      report.failures.push(
        `inputs ${i}..${i + slice.length - 1} wrote to the database:\n  ${
          slice.map((e) => e.what).join("\n  ")
        }`,
      );
    }
  }
  // The corpus took real time: the target's one-second reservations have lapsed by now
  // (unless the machine ran it in under a second). Replayed, each must report its hold as it
  // is (issue 9.11: expired, not held), and the state must still be the model's.
  for (const c of w.log.reserve) {
    report.inputs++;
    const done = await run(r.sql, c);
    const exp = apply(w.s, c, done.t);
    const diff = diffOutcome(exp, done.outcome, false);
    if (diff) {
      report.failures.push(
        `replay after the corpus (${(done.t - started) / 1e6} s later) of ${describe([c])}: ${diff}`,
      );
    }
  }
  return report;
}

export { enter, signature, testWebhookSecret };
