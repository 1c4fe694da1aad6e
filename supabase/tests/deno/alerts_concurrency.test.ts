// Low-balance alerts under concurrency, over real connections (TEST_DB_URL).
//
// Calls are sent as PostgREST sends them for the service key, each in its own transaction,
// all open at a barrier before any calls (the concurrently() helper). The rule under test:
// exactly one alert per crossing of the threshold, however many changes race across it, and a
// new one after the available balance has risen to the threshold again.
import assert from "node:assert/strict";
import { concurrently, dbTest, spend, type Sql } from "./_helpers.ts";

async function newUser(sql: Sql, threshold: number) {
  const id = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${id}::uuid, ${`${id}@alerts.test`})`;
  await sql`select public.set_low_balance_threshold(${threshold}::bigint, ${id}::uuid)`;
  return id;
}

async function grant(sql: Sql, userId: string, amount: number) {
  await sql`select public.grant_tokens(${userId}::uuid, ${amount}::bigint, 'admin_grant', ${`grant:${crypto.randomUUID()}`})`;
}

type Alert = { available_before: number; available_after: number; entry_kind: string; entry_id: string };
async function alertsOf(sql: Sql, userId: string): Promise<Alert[]> {
  return await sql<Alert[]>`
    select available_before::float8 as available_before, available_after::float8 as available_after, entry_kind,
           entry_id::text as entry_id
    from public.token_alerts where user_id = ${userId}::uuid order by created_at, available_after desc`;
}

dbTest("alerts: 30 usages racing across the threshold write exactly one alert, re-armed after a rise", 35, async (sql) => {
  const user = await newUser(sql, 1000);
  await grant(sql, user, 1500);

  // 30 x 100 tokens against 1500: 15 succeed; available goes 1500 -> 0 and crosses 1000 once.
  const first = await concurrently(
    sql,
    Array.from(
      { length: 30 },
      (_, i) => (tx: Sql) => spend(tx, "record_usage", user, 100, `alerts-race-a:${i}`),
    ),
  );
  assert.equal(first.filter((o) => o.ok).length, 15);
  assert.ok(first.every((o) => o.ok || o.code === "PT402"));
  let alerts = await alertsOf(sql, user);
  assert.equal(alerts.length, 1, JSON.stringify(alerts));
  assert.deepEqual([alerts[0].available_before, alerts[0].available_after, alerts[0].entry_kind], [
    1000,
    900,
    "usage",
  ]);

  // Back above the threshold, then race again with reservations and usage mixed.
  await grant(sql, user, 2000); // available 2000
  const second = await concurrently(
    sql,
    Array.from(
      { length: 30 },
      (_, i) => (tx: Sql) =>
        spend(tx, i % 2 === 0 ? "record_usage" : "reserve_tokens", user, 100, `alerts-race-b:${i}`),
    ),
  );
  assert.equal(second.filter((o) => o.ok).length, 20);
  alerts = await alertsOf(sql, user);
  assert.equal(alerts.length, 2, JSON.stringify(alerts));
  assert.equal(alerts[1].available_before, 1000);
  assert.equal(alerts[1].available_after, 900);
  assert.ok(["usage", "hold"].includes(alerts[1].entry_kind));
});

dbTest("alerts: settles racing with usage alert once per crossing of the available balance", 25, async (sql) => {
  const user = await newUser(sql, 500);
  await grant(sql, user, 2000);
  // 10 holds of 150 (available 2000 -> 500); then each settles 100 (available +50) while 10
  // usages of 100 (available -100) race. The available balance goes up and down around 500,
  // so it may cross several times: the alerts must match the crossings of the order in which
  // the calls really ran, which the balance chain tells (every call that succeeded lowered the
  // balance by 100).
  const holds: string[] = [];
  for (let i = 0; i < 10; i++) {
    const hold = await spend<{ hold_id: string }>(sql, "reserve_tokens", user, 150, `alerts-settle:${i}`);
    holds.push(hold.hold_id);
  }
  assert.equal((await alertsOf(sql, user)).length, 0, "the reservations stayed at or above 500");
  type Result = { balance_before: number; usage_id: string };
  const outcomes = await concurrently<Result>(sql, [
    ...holds.map((h) => async (tx: Sql) =>
      (await tx`select public.settle_hold(${h}::uuid, 100) as r`)[0].r
    ),
    ...Array.from(
      { length: 10 },
      (_, i) => (tx: Sql) => spend<Result>(tx, "record_usage", user, 100, `alerts-settle-u:${i}`),
    ),
  ]);
  // Settles always succeed; a usage may find the available balance short for a moment (PT402).
  assert.ok(outcomes.every((o, i) => o.ok || (i >= 10 && o.code === "PT402")), JSON.stringify(outcomes));

  // Replay the serial order: by balance_before, highest first.
  const calls = outcomes.flatMap((o, i) =>
    o.ok ? [{ settle: i < 10, balanceBefore: o.value.balance_before, usageId: o.value.usage_id }] : []
  )
    .sort((a, b) => b.balanceBefore - a.balanceBefore);
  let open = 10;
  let available = 2000 - 150 * open;
  const crossings: string[] = [];
  for (const c of calls) {
    const before = available;
    if (c.settle) open--;
    available = c.balanceBefore - 100 - 150 * open;
    if (before >= 500 && available < 500) crossings.push(c.usageId);
  }
  const [row] =
    await sql`select (public.get_token_balance(${user}::uuid) ->> 'available')::int as available`;
  assert.equal(available, row.available);
  const alerts = await alertsOf(sql, user);
  assert.deepEqual(
    alerts.map((a) => a.entry_id).sort(),
    crossings.sort(),
    JSON.stringify({ alerts, calls }),
  );
  assert.ok(crossings.length >= 1);
  assert.ok(alerts.every((a) => a.available_before >= 500 && a.available_after < 500));
});
