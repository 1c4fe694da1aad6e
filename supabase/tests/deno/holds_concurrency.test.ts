// Concurrency of the hold RPCs over real connections (TEST_DB_URL).
//
// As in ledger_concurrency.test.ts: every call is one transaction as PostgREST sends it for
// the service key (`set local role service_role` plus the JWT claims, then the RPC); the
// clients of a scenario open their transactions, wait at a barrier until all are open, then
// call together. Only outcomes are asserted (counts, balances, ledger consistency), never
// timings. Every run uses new random users, so reruns never clash.
import assert from "node:assert/strict";
import type {
  RecordUsageResult as Usage,
  ReleaseResult as Release,
  ReserveResult as Hold,
  SettleResult as Settle,
} from "../../types/ledger.ts";
import { concurrently, dbTest, type Outcome, spend, type Sql } from "./_helpers.ts";

const users: string[] = []; // every user this file creates, for the final check

const reserve = (tx: Sql, userId: string, tokens: number, key: string) =>
  spend<Hold>(tx, "reserve_tokens", userId, tokens, key);

async function settle(tx: Sql, holdId: string, tokens: number): Promise<Settle> {
  const [row] = await tx`
    select public.settle_hold(p_hold_id => ${holdId}::uuid, p_tokens_used => ${tokens}::bigint) as r`;
  return row.r as Settle;
}

async function release(tx: Sql, holdId: string): Promise<Release> {
  const [row] = await tx`select public.release_hold(p_hold_id => ${holdId}::uuid) as r`;
  return row.r as Release;
}

const recordUsage = (tx: Sql, userId: string, tokens: number, key: string) =>
  spend<Usage>(tx, "record_usage", userId, tokens, key);

/** A new user in auth.users with a random id, granted `amount` tokens by the superuser. */
async function newUser(sql: Sql, amount: number) {
  const id = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${id}::uuid, ${`${id}@holds.test`})`;
  const [row] = await sql`
    select public.grant_tokens(
      p_user_id => ${id}::uuid, p_amount => ${amount}::bigint, p_type => 'admin_grant',
      p_idempotency_key => ${`grant:${crypto.randomUUID()}`}) as r`;
  assert.equal(row.r.replayed, false);
  users.push(id);
  return id;
}

/** One hold reserved up front (as the service), outside the raced calls. */
async function holdFor(sql: Sql, userId: string, tokens: number) {
  return (await reserve(sql, userId, tokens, `reserve:${crypto.randomUUID()}`)).hold_id;
}

async function stateOf(sql: Sql, userId: string) {
  const [row] = await sql`
    select b.balance::float8 as balance, b.debt::float8 as debt,
           (public.get_token_balance(b.user_id) ->> 'held')::float8 as held,
           (public.get_token_balance(b.user_id) ->> 'available')::float8 as available,
           (select count(*)::int from public.token_usage u where u.user_id = b.user_id) as usages,
           (select coalesce(sum(u.tokens), 0)::float8 from public.token_usage u where u.user_id = b.user_id) as used,
           (select coalesce(sum(u.overage_tokens), 0)::float8 from public.token_usage u where u.user_id = b.user_id)
             as overage
    from public.token_balances b where b.user_id = ${userId}::uuid`;
  return row as {
    balance: number;
    debt: number;
    held: number;
    available: number;
    usages: number;
    used: number;
    overage: number;
  };
}

async function holdRow(sql: Sql, holdId: string) {
  const [row] = await sql`
    select h.status, h.usage_id::text as usage_id, h.tokens_used::float8 as tokens_used,
           h.tokens_released::float8 as tokens_released,
           (select count(*)::int from public.token_usage u where u.hold_id = h.id) as usages
    from public.token_holds h where h.id = ${holdId}::uuid`;
  return row as {
    status: string;
    usage_id: string | null;
    tokens_used: number;
    tokens_released: number;
    usages: number;
  };
}

function failures<T>(outcomes: Outcome<T>[]) {
  const codes = new Map<string, number>();
  for (const o of outcomes) if (!o.ok) codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
  return codes;
}

function values<T>(outcomes: Outcome<T>[]) {
  return outcomes.filter((o) => o.ok).map((o) => (o as { value: T }).value);
}

dbTest("holds: 50 parallel reservations of 10% of the balance: exactly 10 succeed, 40 get PT402", 55, async (sql) => {
  const user = await newUser(sql, 1000);

  const outcomes = await concurrently(
    sql,
    Array.from({ length: 50 }, (_, i) => (tx: Sql) => reserve(tx, user, 100, `reserve:${i}`)),
  );

  const holds = values(outcomes);
  assert.equal(holds.length, 10);
  assert.deepEqual(failures(outcomes), new Map([["PT402", 40]]));
  for (const o of outcomes) if (!o.ok) assert.match(o.message, /Insufficient tokens/);
  assert.ok(holds.every((h) => !h.replayed && h.status === "held" && h.tokens_held === 100));
  // Serialized on the user's lock: each hold saw what the previous ones left, 900, 800, ..., 0.
  assert.deepEqual(
    holds.map((h) => h.available_after).sort((a, b) => b - a),
    Array.from({ length: 10 }, (_, i) => 900 - 100 * i),
  );
  assert.equal(new Set(holds.map((h) => h.hold_id)).size, 10);

  const s = await stateOf(sql, user);
  assert.deepEqual(s, { balance: 1000, debt: 0, held: 1000, available: 0, usages: 0, used: 0, overage: 0 });
  const [n] = await sql`select count(*)::int as n from public.token_holds where user_id = ${user}::uuid`;
  assert.equal(n.n, 10, "the refused reservations left no hold behind");
});

dbTest("holds: reservations and record_usage race for the same available tokens", 55, async (sql) => {
  const user = await newUser(sql, 1000);
  // 25 reservations and 25 usages of 40 tokens each, interleaved: room for exactly 25 of them.
  const outcomes = await concurrently<unknown>(
    sql,
    Array.from(
      { length: 50 },
      (_, i) => (tx: Sql) =>
        i % 2 === 0 ? reserve(tx, user, 40, `mix:${i}`) : recordUsage(tx, user, 40, `mix:${i}`),
    ),
  );

  assert.equal(values(outcomes).length, 25);
  assert.deepEqual(failures(outcomes), new Map([["PT402", 25]]));
  const holds = outcomes.filter((o, i) => o.ok && i % 2 === 0).length;
  const usages = outcomes.filter((o, i) => o.ok && i % 2 === 1).length;
  assert.equal(holds + usages, 25);

  const s = await stateOf(sql, user);
  assert.equal(s.balance, 1000 - 40 * usages);
  assert.equal(s.held, 40 * holds);
  assert.equal(s.available, 0, "held tokens were never spent by usage, nor usage tokens held");
  assert.equal(s.usages, usages);
});

dbTest("holds: parallel settles of one hold write one usage row; the others replay it", 55, async (sql) => {
  const user = await newUser(sql, 1000);
  const hold = await holdFor(sql, user, 300);

  const outcomes = await concurrently(
    sql,
    Array.from({ length: 30 }, () => (tx: Sql) => settle(tx, hold, 250)),
  );

  assert.ok(outcomes.every((o) => o.ok), JSON.stringify(failures(outcomes)));
  const settles = values(outcomes);
  assert.equal(settles.filter((s) => !s.replayed).length, 1);
  assert.equal(settles.filter((s) => s.replayed).length, 29);
  const first = settles.find((s) => !s.replayed)!;
  assert.ok(first.usage_id);
  // Every replay reports what the one settle did.
  for (const s of settles) assert.deepEqual({ ...s, replayed: false }, first);
  assert.deepEqual(
    {
      tokens: first.tokens,
      before: first.balance_before,
      after: first.balance_after,
      released: first.released,
    },
    { tokens: 250, before: 1000, after: 750, released: 50 },
  );

  assert.deepEqual(await holdRow(sql, hold), {
    status: "settled",
    usage_id: first.usage_id,
    tokens_used: 250,
    tokens_released: 50,
    usages: 1,
  });
  const s = await stateOf(sql, user);
  assert.deepEqual(s, { balance: 750, debt: 0, held: 0, available: 750, usages: 1, used: 250, overage: 0 });
});

// 65 connections, one per client: 60 clients wait at the barrier.
dbTest("holds: parallel settles and releases of one hold: one wins, the others replay it or get 22023", 65, async (sql) => {
  const user = await newUser(sql, 1000);
  // 10 holds of 50, each raced by 3 settles and 3 releases (60 clients): both outcomes occur
  // in practice, and every hold must end consistent whichever call won.
  const holds = await Promise.all(Array.from({ length: 10 }, () => holdFor(sql, user, 50)));
  const calls: { hold: string; kind: "settle" | "release" }[] = [];
  for (let round = 0; round < 3; round++) {
    for (const hold of holds) calls.push({ hold, kind: "settle" }, { hold, kind: "release" });
  }

  const outcomes = await concurrently<Settle | Release>(
    sql,
    calls.map((c) => (tx: Sql) => c.kind === "settle" ? settle(tx, c.hold, 30) : release(tx, c.hold)),
  );

  let settled = 0;
  for (const hold of holds) {
    const mine = outcomes
      .map((o, i) => ({ o, kind: calls[i].kind }))
      .filter((_, i) => calls[i].hold === hold);
    const row = await holdRow(sql, hold);
    const settles = mine.filter((m) => m.kind === "settle");
    const releases = mine.filter((m) => m.kind === "release");
    // The kind that won: all its calls succeeded, one wrote and the others replay it; every call
    // of the other kind is 22023. The hold row says which kind that was.
    const won = row.status === "settled" ? settles : releases;
    const lost = row.status === "settled" ? releases : settles;
    assert.ok(["settled", "released"].includes(row.status), hold);
    assert.ok(won.every((m) => m.o.ok), `${hold}: ${JSON.stringify(won)}`);
    const results = won.map((m) => (m.o as { value: Settle | Release }).value);
    assert.equal(results.filter((r) => !r.replayed).length, 1, hold);
    assert.ok(lost.every((m) => !m.o.ok && m.o.code === "22023"), `${hold}: ${JSON.stringify(lost)}`);
    if (row.status === "settled") {
      settled++;
      // every settle reports the one usage row the hold points to
      assert.ok(results.every((r) => (r as Settle).usage_id === row.usage_id), hold);
    }
    assert.deepEqual(
      { used: row.tokens_used, released: row.tokens_released, usages: row.usages },
      row.status === "settled" ? { used: 30, released: 20, usages: 1 } : { used: 0, released: 50, usages: 0 },
    );
  }

  const s = await stateOf(sql, user);
  assert.deepEqual(s, {
    balance: 1000 - 30 * settled,
    debt: 0,
    held: 0,
    available: 1000 - 30 * settled,
    usages: settled,
    used: 30 * settled,
    overage: 0,
  });
});

dbTest("holds: parallel settles beyond their holds: every overage becomes debt exactly once", 55, async (sql) => {
  const user = await newUser(sql, 1000);
  // 10 holds of 100 take the whole balance; each then uses 150 at the same time.
  const holds = await Promise.all(Array.from({ length: 10 }, () => holdFor(sql, user, 100)));

  const outcomes = await concurrently(sql, holds.map((h) => (tx: Sql) => settle(tx, h, 150)));

  assert.ok(outcomes.every((o) => o.ok), JSON.stringify(failures(outcomes)));
  const settles = values(outcomes);
  // Nothing is free besides each hold's own 100: 50 of every settle is overage.
  assert.ok(
    settles.every((s) => !s.replayed && s.tokens === 150 && s.overage_tokens === 50),
    JSON.stringify(settles),
  );
  const s = await stateOf(sql, user);
  assert.deepEqual(s, {
    balance: -500,
    debt: 500,
    held: 0,
    available: 0, // never reported below 0
    usages: 10,
    used: 1500,
    overage: 500,
  });
});

dbTest("holds: afterwards the ledger verifies and no hold has more than one usage row", 2, async (sql) => {
  assert.ok(users.length > 0, "run with the scenarios above");
  const dups = await sql`
    select hold_id, count(*)::int as n from public.token_usage
    where hold_id is not null group by 1 having count(*) > 1`;
  assert.deepEqual([...dups], []);
  const open = await sql`
    select count(*)::int as n from public.token_holds h
    where h.user_id = any(${users}::uuid[]) and h.status in ('settled', 'released') and h.closed_at is null`;
  assert.equal(open[0].n, 0, "every closed hold has its closed_at");
  for (const user of users) {
    assert.deepEqual([...await sql`select * from public.verify_token_ledger(${user}::uuid)`], [], user);
  }
  assert.deepEqual([...await sql`select * from public.verify_token_ledger()`], []);
});
