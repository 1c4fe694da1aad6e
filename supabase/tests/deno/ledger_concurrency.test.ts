// Concurrency of the ledger RPCs over real connections (TEST_DB_URL).
//
// Every call goes through SQL as PostgREST sends it for the service key: one transaction per
// request, `set local role service_role` plus the JWT claims, then `select public.record_usage(...)`.
// The clients of a scenario first open their transactions and wait at a barrier until all of
// them are open, then send their calls together: the calls really overlap, without sleeps.
// Only outcomes are asserted (counts, balances, ledger consistency), never timings.
import assert from "node:assert/strict";
import type { RecordUsageResult as Usage } from "../../types/ledger.ts";
import { concurrently, dbTest, type Outcome as CallOutcome, spend, type Sql } from "./_helpers.ts";

type Outcome = CallOutcome<Usage>;

// What this file expects of every user it creates, for the final cross-check.
const granted = new Map<string, number>();
const accepted = new Map<string, number>(); // tokens of usage written (not replays)

const recordUsage = (tx: Sql, userId: string, tokens: number, key: string) =>
  spend<Usage>(tx, "record_usage", userId, tokens, key);

/** A new user in auth.users with a random id (reruns never clash). */
async function newUser(sql: Sql) {
  const id = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${id}::uuid, ${`${id}@concurrency.test`})`;
  granted.set(id, 0);
  accepted.set(id, 0);
  return id;
}

/** Grants as the superuser connection (the service, as pg_cron or the SQL editor would). */
async function grant(sql: Sql, userId: string, amount: number) {
  const [row] = await sql`
    select public.grant_tokens(
      p_user_id => ${userId}::uuid, p_amount => ${amount}::bigint, p_type => 'admin_grant',
      p_idempotency_key => ${`grant:${crypto.randomUUID()}`}) as r`;
  assert.equal(row.r.replayed, false);
  granted.set(userId, granted.get(userId)! + amount);
}

function noteAccepted(outcomes: Outcome[]) {
  for (const o of outcomes) {
    if (o.ok && !o.value.replayed) {
      accepted.set(o.value.user_id, accepted.get(o.value.user_id)! + o.value.tokens);
    }
  }
}

/**
 * A new user granted `balance`, then 50 clients recording usage for that user at once: client i
 * sends `tokensOf(i)` tokens under key `keyOf(i)`. The accepted usage is noted for the final check.
 */
async function race(
  sql: Sql,
  balance: number,
  tokensOf: (i: number) => number,
  keyOf: (i: number) => string,
) {
  const user = await newUser(sql);
  await grant(sql, user, balance);
  const outcomes = await concurrently(
    sql,
    Array.from({ length: 50 }, (_, i) => (tx: Sql) => recordUsage(tx, user, tokensOf(i), keyOf(i))),
  );
  noteAccepted(outcomes);
  return { user, outcomes };
}

async function balanceOf(sql: Sql, userId: string) {
  const [row] = await sql`
    select b.balance::float8 as balance, b.debt::float8 as debt,
           (select coalesce(sum(l.remaining), 0)::float8 from public.token_lots l where l.user_id = b.user_id) as lots
    from public.token_balances b where b.user_id = ${userId}::uuid`;
  return row as { balance: number; debt: number; lots: number };
}

async function usageRows(sql: Sql, userId: string) {
  const [row] = await sql`
    select count(*)::int as n, coalesce(sum(tokens), 0)::float8 as tokens
    from public.token_usage where user_id = ${userId}::uuid`;
  return row as { n: number; tokens: number };
}

async function verifyLedger(sql: Sql, userId?: string) {
  return userId
    ? await sql`select * from public.verify_token_ledger(${userId}::uuid)`
    : await sql`select * from public.verify_token_ledger()`;
}

function failures(outcomes: Outcome[]) {
  const codes = new Map<string, number>();
  for (const o of outcomes) if (!o.ok) codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
  return codes;
}

dbTest("concurrency: 50 clients spending from one user at once never overspend", 55, async (sql) => {
  const { user, outcomes } = await race(sql, 1000, () => 30, (i) => `spend:${i}`);

  const ok = outcomes.filter((o) => o.ok).map((o) => (o as { value: Usage }).value);
  assert.equal(ok.length, Math.floor(1000 / 30)); // 33
  assert.deepEqual(failures(outcomes), new Map([["PT402", 50 - 33]]));
  for (const o of outcomes) if (!o.ok) assert.match(o.message, /Insufficient tokens/);
  assert.ok(ok.every((u) => !u.replayed && u.tokens === 30 && u.balance_after >= 0));
  // Serialized: each success saw the balance the previous one left, 1000, 970, ..., 40.
  const befores = ok.map((u) => u.balance_before).sort((a, b) => b - a);
  assert.deepEqual(befores, Array.from({ length: 33 }, (_, i) => 1000 - 30 * i));
  assert.equal(new Set(ok.map((u) => u.usage_id)).size, 33);

  assert.deepEqual(await balanceOf(sql, user), { balance: 1000 - 33 * 30, debt: 0, lots: 1000 - 33 * 30 });
  assert.deepEqual(await usageRows(sql, user), { n: 33, tokens: 33 * 30 });
  assert.deepEqual([...await verifyLedger(sql, user)], []);
});

dbTest("concurrency: 50 clients over 50 users at once each get exactly their own outcome", 55, async (sql) => {
  const users = await Promise.all(Array.from({ length: 50 }, () => newUser(sql)));
  await Promise.all(users.map((u) => grant(sql, u, 100)));
  // Client i spends 10 + 2i tokens of its user's 100: clients 0..45 fit, 46..49 (102..108) do not.
  const spend = (i: number) => 10 + 2 * i;

  const outcomes = await concurrently(
    sql,
    users.map((u, i) => (tx: Sql) => recordUsage(tx, u, spend(i), "once")),
  );
  noteAccepted(outcomes);

  outcomes.forEach((o, i) => {
    if (spend(i) <= 100) {
      assert.ok(o.ok, `client ${i}: ${JSON.stringify(o)}`);
      assert.equal(o.value.user_id, users[i]);
      assert.equal(o.value.balance_before, 100);
      assert.equal(o.value.balance_after, 100 - spend(i));
      assert.equal(o.value.replayed, false);
    } else {
      assert.ok(!o.ok && o.code === "PT402", `client ${i}: ${JSON.stringify(o)}`);
    }
  });
  assert.equal(outcomes.filter((o) => o.ok).length, 46);

  const rows = await sql`
  select b.user_id::text as user_id, b.balance::float8 as balance,
         (select count(*)::int from public.token_usage u where u.user_id = b.user_id) as usages
  from public.token_balances b where b.user_id = any(${users}::uuid[])`;
  const byUser = new Map(rows.map((r) => [r.user_id as string, r]));
  users.forEach((u, i) => {
    const fits = spend(i) <= 100;
    assert.equal(byUser.get(u)?.balance, fits ? 100 - spend(i) : 100, `user ${i}`);
    assert.equal(byUser.get(u)?.usages, fits ? 1 : 0, `user ${i}`);
  });
});

dbTest("concurrency: 50 concurrent duplicates of one idempotency key write exactly once", 55, async (sql) => {
  const { user, outcomes } = await race(sql, 1000, () => 30, () => "same-key");

  assert.ok(outcomes.every((o) => o.ok), JSON.stringify(failures(outcomes)));
  const usages = outcomes.map((o) => (o as { value: Usage }).value);
  assert.equal(usages.filter((u) => !u.replayed).length, 1);
  assert.equal(usages.filter((u) => u.replayed).length, 49);
  assert.equal(new Set(usages.map((u) => u.usage_id)).size, 1);
  // Every replay reports what the one write did.
  assert.ok(usages.every((u) => u.tokens === 30 && u.balance_before === 1000 && u.balance_after === 970));

  assert.equal((await balanceOf(sql, user)).balance, 970);
  assert.deepEqual(await usageRows(sql, user), { n: 1, tokens: 30 });
});

dbTest("concurrency: one key raced with different token counts: one write, replays or PT409", 55, async (sql) => {
  // 25 clients send the key with 10 tokens, 25 with 20, interleaved.
  const tokensOf = (i: number) => (i % 2 === 0 ? 10 : 20);
  const { user, outcomes } = await race(sql, 1000, tokensOf, () => "contested-key");

  const writes = outcomes.filter((o) => o.ok && !o.value.replayed) as { ok: true; value: Usage }[];
  assert.equal(writes.length, 1);
  const winner = writes[0].value;
  outcomes.forEach((o, i) => {
    if (tokensOf(i) === winner.tokens) {
      // the winner's own request, or a replay of it
      assert.ok(o.ok && o.value.usage_id === winner.usage_id, `client ${i}: ${JSON.stringify(o)}`);
    } else {
      assert.ok(!o.ok && o.code === "PT409", `client ${i}: ${JSON.stringify(o)}`);
    }
  });
  assert.deepEqual(failures(outcomes), new Map([["PT409", 25]]));

  assert.equal((await balanceOf(sql, user)).balance, 1000 - winner.tokens);
  assert.deepEqual(await usageRows(sql, user), { n: 1, tokens: winner.tokens });
});

dbTest("concurrency: replays mixed with new keys against a balance that runs out", 55, async (sql) => {
  // 50 clients over 15 keys (3 or 4 sends each), 20 tokens a key: room for exactly 10 keys.
  const keyOf = (i: number) => `mixed:${i % 15}`;
  const { user, outcomes } = await race(sql, 200, () => 20, keyOf);

  // Per key, all sends agree: either one write and replays of it, or all refused (PT402).
  const byKey = new Map<string, Outcome[]>();
  outcomes.forEach((o, i) => byKey.set(keyOf(i), [...(byKey.get(keyOf(i)) ?? []), o]));
  let written = 0;
  for (const [key, os] of byKey) {
    if (os.every((o) => o.ok)) {
      const us = os.map((o) => (o as { value: Usage }).value);
      assert.equal(us.filter((u) => !u.replayed).length, 1, key);
      assert.equal(new Set(us.map((u) => u.usage_id)).size, 1, key);
      written++;
    } else {
      assert.ok(os.every((o) => !o.ok && o.code === "PT402"), `${key}: ${JSON.stringify(os)}`);
    }
  }
  assert.equal(written, 10);

  assert.deepEqual(await balanceOf(sql, user), { balance: 0, debt: 0, lots: 0 });
  assert.deepEqual(await usageRows(sql, user), { n: 10, tokens: 200 });
});

dbTest("concurrency: afterwards every balance is grants minus accepted usage and the ledger verifies", 2, async (sql) => {
  const users = [...granted.keys()];
  assert.ok(users.length > 0, "run with the scenarios above");
  const rows = await sql`
  select b.user_id::text as user_id, b.balance::float8 as balance, b.debt::float8 as debt,
         (select coalesce(sum(t.token_amount), 0)::float8 from public.token_transactions t
           where t.user_id = b.user_id) as grants,
         (select coalesce(sum(u.tokens), 0)::float8 from public.token_usage u
           where u.user_id = b.user_id) as used
  from public.token_balances b where b.user_id = any(${users}::uuid[])`;
  assert.equal(rows.length, users.length);
  for (const r of rows) {
    const id = r.user_id as string;
    assert.equal(r.grants, granted.get(id), `grants of ${id}`);
    assert.equal(r.used, accepted.get(id), `usage of ${id}`);
    assert.equal(r.balance, granted.get(id)! - accepted.get(id)!, `balance of ${id}`);
    assert.ok(r.balance >= 0 && r.debt === 0, `balance of ${id}`);
  }

  // Across the whole database: no negative balance among these users, no key used twice
  // for one user, and the ledger explains every stored balance.
  const [neg] = await sql`
  select count(*)::int as n from public.token_balances where balance < 0 and user_id = any(${users}::uuid[])`;
  assert.equal(neg.n, 0);
  const dups = await sql`
  select user_id, idempotency_key, count(*)::int as n from public.token_usage
  where idempotency_key is not null group by 1, 2 having count(*) > 1`;
  assert.deepEqual([...dups], []);
  assert.deepEqual([...await verifyLedger(sql)], []);
});
