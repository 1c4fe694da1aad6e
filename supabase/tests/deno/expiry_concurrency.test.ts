// expire_tokens next to other transactions on the same users, over real connections
// (TEST_DB_URL), each call in its own transaction as service_role.
//
// The sweep lists the users with lapsed lots before it takes their locks (it cannot lock every
// user first), so by the time it holds a user's lock another transaction may have changed what
// it saw. The order is made deterministic without sleeps: the first transaction holds the
// user's lock, the sweep is started and the test waits until Postgres reports it blocked
// behind that transaction (pg_blocking_pids), then lets the first one commit.
//
// The as-of time is fixed once (now() + 3 days) and a sweep at that time runs first, so lots
// other test files left behind do not count in the results asserted here.
import assert from "node:assert/strict";
import { actAsService, connect, type Sql } from "./_helpers.ts";

type Sweep = { users: number; tokens_expired: number };

/** One expire_tokens run as of `asOf`, as whoever `tx` acts as. */
const sweep = async (tx: Sql, asOf: string) => (await tx`select public.expire_tokens(${asOf}::timestamptz) as r`)[0].r as Sweep;

/**
 * Runs `first` in a transaction that stays open until a sweep (another transaction) is blocked
 * behind it; returns what both returned once both committed.
 */
async function sweepBehind<T>(
  sql: Sql,
  first: (tx: Sql) => Promise<T>,
  asOf: string,
): Promise<{ first: T; sweep: Sweep }> {
  let hold!: () => void;
  const held = new Promise<void>((r) => (hold = r));
  let started!: (pid: number) => void;
  const firstPid = new Promise<number>((r) => (started = r));
  const firstTx = sql.begin(async (tx) => {
    await actAsService(tx as unknown as Sql);
    const value = await first(tx as unknown as Sql);
    const [{ pid }] = await tx`select pg_backend_pid() as pid`;
    started(pid);
    await held;
    return value;
  });
  const pid = await firstPid;
  let sweepPid!: (pid: number) => void;
  const sweeping = new Promise<number>((r) => (sweepPid = r));
  const sweepTx = sql.begin(async (tx) => {
    await actAsService(tx as unknown as Sql);
    const [{ me }] = await tx`select pg_backend_pid() as me`;
    sweepPid(me);
    return await sweep(tx as unknown as Sql, asOf);
  });
  const me = await sweeping;
  // Wait (polling the catalog, not the clock) until the sweep waits for the first transaction.
  for (;;) {
    const [{ blocked }] = await sql`select ${pid}::int = any(pg_blocking_pids(${me}::int)) as blocked`;
    if (blocked) break;
  }
  hold();
  return { first: await firstTx as T, sweep: await sweepTx as Sweep };
}

async function newUser(sql: Sql) {
  const id = crypto.randomUUID();
  await sql`insert into auth.users (id, email) values (${id}::uuid, ${`${id}@expiry-concurrency.test`})`;
  return id;
}

/** A lot of `tokens` that lapses a day from now (a trial grant, as the service). */
async function expiringGrant(sql: Sql, user: string, tokens: number) {
  await sql`select public.grant_tokens(${user}::uuid, ${tokens}::bigint, 'trial_grant', ${crypto.randomUUID()},
                                       null, now() + interval '1 day')`;
}

Deno.test("expire_tokens next to other transactions on the same users", async (t) => {
  const sql = connect(4);
  try {
    const [{ asOf }] = await sql`select (now() + interval '3 days')::text as "asOf"`;
    await sweep(sql, asOf); // what other files left lapsing by then

    await t.step(
      "a user whose lapsed lot was spent while the sweep waited for its lock is left alone (no drip, not counted)",
      async () => {
        const user = await newUser(sql);
        await expiringGrant(sql, user, 500);
        // a weekly plan whose first cycle starts in two days: due by the sweep's as-of time
        const plan = `expiry-concurrency-${crypto.randomUUID()}`;
        await sql`insert into public.subscription_plans (id, drip_tokens, drip_interval) values (${plan}, 1000, '7 days')`;
        const [{ id: sub }] = await sql`
          insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor)
          values (${user}::uuid, ${plan}, 'active', now() + interval '2 days') returning id`;

        const { sweep } = await sweepBehind(
          sql,
          (tx) => tx`select public.record_usage('chat', 500, ${crypto.randomUUID()}, ${user}::uuid)`,
          asOf,
        );
        // Serially, the usage came first: at the sweep's turn the user had nothing lapsed, so the
        // sweep did nothing for them; the cycle stays due for run_due_drips or the next call.
        assert.deepEqual(sweep, { users: 0, tokens_expired: 0 });
        const [{ drips }] = await sql`select count(*)::int as drips from public.token_drips where subscription_id = ${sub}`;
        assert.equal(drips, 0, "the sweep issued a drip for a user it had nothing to sweep for");
        const [{ issues }] = await sql`select count(*)::int as issues from public.verify_token_ledger()`;
        assert.equal(issues, 0);
      },
    );

    await t.step("overlapping sweeps count each user once: in the run that expired its tokens", async () => {
      const users = [await newUser(sql), await newUser(sql), await newUser(sql)];
      for (const [i, user] of users.entries()) await expiringGrant(sql, user, 100 * (i + 1));
      // The second sweep lists the three users while the first, not yet committed, holds their
      // locks; it takes each lock after the first sweep committed.
      const { first, sweep: second } = await sweepBehind(sql, (tx) => sweep(tx, asOf), asOf);
      assert.deepEqual(first, { users: 3, tokens_expired: 600 });
      assert.deepEqual(second, { users: 0, tokens_expired: 0 }, "the second sweep counted users it expired nothing of");
      const [{ expirations }] = await sql`
        select count(*)::int as expirations from public.token_transactions
        where user_id = any(${users}::uuid[]) and transaction_type = 'expiration'`;
      assert.equal(expirations, 3);
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
});
