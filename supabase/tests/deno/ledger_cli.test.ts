// The operator CLI (`npm run ledger -- ...`, scripts/ledger.ts), run as an operator runs it: a
// separate process against the test database (--db-url TEST_DB_URL), reading its stdout, its
// stderr and its exit code. The database is checked directly afterwards.
import assert from "node:assert/strict";
import { connect, type Sql, testDbUrl } from "./_helpers.ts";

const script = new URL("../../../scripts/ledger.ts", import.meta.url).pathname;

type Run = { code: number; stdout: string; stderr: string };

async function ledger(args: string[], stdin = "", dbUrl = testDbUrl): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--check",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      "--quiet",
      script,
      ...args,
      "--db-url",
      dbUrl,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  return { code, stdout: new TextDecoder().decode(stdout), stderr: new TextDecoder().decode(stderr) };
}

async function newUser(sql: Sql) {
  const id = crypto.randomUUID();
  const email = `cli-${id.slice(0, 8)}@ledger-cli.test`;
  await sql`insert into auth.users (id, email) values (${id}::uuid, ${email})`;
  return { id, email };
}

/** A test with a fresh user and a connection to check the database with. */
function cliTest(name: string, body: (sql: Sql, u: { id: string; email: string }) => Promise<void>) {
  Deno.test(name, async () => {
    const sql = connect(2);
    try {
      await body(sql, await newUser(sql));
    } finally {
      await sql.end();
    }
  });
}

async function balanceOf(sql: Sql, id: string) {
  const [row] =
    await sql`select coalesce((select balance from public.token_balances where user_id = ${id}::uuid), 0)::int as b`;
  return row.b as number;
}

Deno.test("ledger CLI: --help, unknown commands and options", async () => {
  const help = await ledger(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: npm run ledger -- <command>/);
  for (
    const c of [
      "statement",
      "grant",
      "deduct",
      "void",
      "reconcile",
      "drips",
      "holds",
      "cron",
      "user",
      "balance",
    ]
  ) {
    assert.match(help.stdout, new RegExp(`^  ${c}\\b`, "m"), c);
  }
  const unknown = await ledger(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stderr.trim(), "ledger: unknown command frobnicate (see --help)");
  const badOption = await ledger(["balance", "x", "--colour"]);
  assert.equal(badOption.code, 2);
  assert.match(badOption.stderr, /unknown option --colour/);
});

cliTest(
  "ledger CLI: grant, deduct, statement and balance answer why a balance is what it is",
  async (sql, u) => {
    const g = await ledger(["grant", u.email, "5,000", "--reason", "support credit", "--yes"]);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /^done: admin_grant \+5,000, balance 0 -> 5,000$/m);
    const key = /key (cli:[0-9a-f-]+)/.exec(g.stdout)![1];
    // the printed key replays the grant
    const again = await ledger([
      "grant",
      u.email,
      "5000",
      "--reason",
      "support credit",
      "--key",
      key,
      "--yes",
    ]);
    assert.match(again.stdout, /already done \(replayed\)/);

    await sql`select public.record_usage('chat', 1200, ${`cli-use:${u.id}`}, ${u.id}::uuid, 'gpt-4o')`;
    const d = await ledger(["deduct", u.id, "300", "--reason", "duplicate credit", "--yes"]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(await balanceOf(sql, u.id), 3500);

    const st = await ledger(["statement", u.email]);
    assert.equal(st.code, 0, st.stderr);
    const lines = st.stdout.split("\n");
    const rows = lines.filter((l) => /^\d{4}-\d\d-\d\d /.test(l));
    assert.equal(rows.length, 3);
    assert.match(rows[0], /admin_grant\s+\+5,000\s+5,000\s+by service, "support credit"/);
    assert.match(rows[1], /usage\s+-1,200\s+3,800\s+chat, gpt-4o/);
    assert.match(rows[2], /admin_deduction\s+-300\s+3,500\s+by service, "duplicate credit"/);
    assert.match(st.stdout, /^balance now 3,500 \(debt 0, held 0, available 3,500\)$/m);

    const js = await ledger(["statement", u.email, "--json"]);
    const parsed = JSON.parse(js.stdout);
    assert.equal(parsed.user_id, u.id);
    assert.deepEqual(parsed.entries.map((e: { type: string }) => e.type), [
      "admin_deduction",
      "usage",
      "admin_grant",
    ]);

    const b = await ledger(["balance", u.email]);
    assert.match(b.stdout, /^balance\s+3,500$/m);
    assert.match(b.stdout, /^admin_grant\s+3,500\s+-$/m);
    const past = await ledger(["balance", u.email, "--at", "2000-01-01T00:00:00Z", "--json"]);
    assert.equal(JSON.parse(past.stdout).balance, 0);
  },
);

cliTest("ledger CLI: changes ask first; no means nothing is written", async (sql, u) => {
  const no = await ledger(["grant", u.email, "100", "--reason", "maybe"], "n\n");
  assert.equal(no.code, 1);
  assert.match(no.stderr, /Grant \(admin_grant\) 100 tokens to .* reason "maybe"\? .*\[y\/N\]/);
  assert.match(no.stderr, /ledger: cancelled: nothing was changed/);
  const none = await ledger(["grant", u.email, "100", "--reason", "maybe"]); // no answer at all (EOF)
  assert.equal(none.code, 1);
  assert.equal(await balanceOf(sql, u.id), 0);
  const yes = await ledger(["grant", u.email, "100", "--reason", "maybe"], "y\n");
  assert.equal(yes.code, 0, yes.stderr);
  assert.equal(await balanceOf(sql, u.id), 100);
  const noReason = await ledger(["grant", u.email, "100", "--yes"]);
  assert.equal(noReason.code, 2);
  assert.equal(noReason.stderr.trim(), "ledger: --reason is required");
});

cliTest("ledger CLI: errors are one line with the SQLSTATE and its meaning", async (sql, u) => {
  const short = await ledger(["deduct", u.email, "10", "--reason", "x", "--yes"]);
  assert.equal(short.code, 1);
  assert.equal(
    short.stderr.trim(),
    "ledger: PT402 insufficient tokens: Insufficient tokens. (balance: 0, required: 10)",
  );
  // the same key for another amount: a different request
  const grantWithKey = (amount: string) =>
    ledger(["grant", u.email, amount, "--reason", "x", "--key", `cli-test:${u.id}`, "--yes"]);
  const reused = await grantWithKey("10");
  assert.equal(reused.code, 0);
  const conflict = await grantWithKey("11");
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /^ledger: PT409 idempotency key reused for a different request: .*\n$/);
  const unknownUser = await ledger(["balance", "nobody-at-all@ledger-cli.test"]);
  assert.equal(unknownUser.code, 2);
  assert.equal(unknownUser.stderr.trim(), "ledger: no user matches nobody-at-all@ledger-cli.test");
  const badVoid = await ledger(["void", crypto.randomUUID(), "--reason", "x", "--yes"]);
  assert.match(badVoid.stderr, /^ledger: no transaction /);

  // a database that is not there
  const closed = await ledger(["cron"], "", "postgresql://postgres:postgres@127.0.0.1:9/postgres");
  assert.equal(closed.code, 1);
  assert.match(
    closed.stderr,
    /^ledger: cannot connect to 127\.0\.0\.1:9 .*npm start.*--db-url or SUPABASE_DB_URL/,
  );
  assert.equal(closed.stderr.trim().split("\n").length, 1);
});

cliTest("ledger CLI: void takes back what a grant still holds, once", async (sql, u) => {
  await ledger([
    "grant",
    u.email,
    "1000",
    "--reason",
    "promo",
    "--expires-at",
    "2099-01-01T00:00:00Z",
    "--yes",
  ]);
  await ledger(["grant", u.email, "50", "--reason", "keep", "--yes"]);
  await sql`select public.record_usage('chat', 400, ${`cli-void:${u.id}`}, ${u.id}::uuid)`;
  const [tx] = await sql`select id from public.token_transactions
                          where user_id = ${u.id}::uuid and transaction_type = 'admin_grant' and expires_at is not null`;
  const voidArgs = ["void", tx.id, "--reason", "promo abuse", "--key", `cli-void-key:${u.id}`, "--yes"];
  const v = await ledger(voidArgs);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^voided: 600 tokens taken back, 400 already spent stay spent$/m);
  assert.equal(await balanceOf(sql, u.id), 50);
  const replay = await ledger(voidArgs);
  assert.match(replay.stdout, /already done \(replayed\)/);
  const twice = await ledger(["void", tx.id, "--reason", "promo abuse", "--yes"]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /^ledger: 22023 invalid argument: Transaction .* is already voided\./);
});

cliTest("ledger CLI: reconcile, holds, user, cron, drips and settings", async (sql, u) => {
  await ledger(["grant", u.email, "900", "--reason", "r", "--yes"]);
  const ok = await ledger(["reconcile", u.email]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: no problem found$/m);
  await sql`update public.token_balances set balance = balance + 1 where user_id = ${u.id}::uuid`;
  const bad = await ledger(["reconcile", u.email]);
  assert.equal(bad.code, 3);
  assert.match(
    bad.stdout,
    /^PROBLEMS: balance_differs_from_ledger, balance_differs_from_lots, balance_differs_from_last_entry$/m,
  );
  await sql`update public.token_balances set balance = balance - 1 where user_id = ${u.id}::uuid`;
  const recorded = await ledger(["reconcile", "--record", "--yes", "--json"]);
  assert.equal(recorded.code, 0, recorded.stderr);
  const run = JSON.parse(recorded.stdout);
  const [row] =
    await sql`select status from public.ledger_reconciliation_runs where id = ${run.run_id}::uuid`;
  assert.equal(row.status, run.status);

  const [hold] =
    await sql`select public.reserve_tokens('chat', 300, ${`cli-hold:${u.id}`}, ${u.id}::uuid) ->> 'hold_id' as id`;
  const holds = await ledger(["holds", u.email]);
  assert.match(holds.stdout, new RegExp(`^${hold.id}\\s+${u.id}\\s+chat\\s+300 `, "m"));
  const release = await ledger(["holds", "release", hold.id, "--yes"]);
  assert.match(release.stdout, /^released: 300 tokens; available now 900$/m);
  assert.match((await ledger(["holds", u.email])).stdout, /no active holds/);

  const who = await ledger(["user", u.email.toUpperCase()]);
  assert.match(who.stdout, new RegExp(`^${u.id}\\s+${u.email}\\s+900 `, "m"));

  const cron = await ledger(["cron", "--json"]);
  const jobs = JSON.parse(cron.stdout).map((j: { jobname: string }) => j.jobname);
  for (const j of ["token-drips", "token-expiry", "token-holds", "ledger-reconciliation"]) {
    assert.ok(jobs.includes(j), j);
  }

  // a subscription with a cycle due: drips --run issues it, with progress on stderr
  await sql`insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor)
            values (${u.id}::uuid, 'default', 'active', now() - interval '1 minute')`;
  const due = await ledger(["drips", u.email]);
  assert.match(due.stdout, /^1 subscriptions due now, 1 scheduled/m);
  const drip = await ledger(["drips", "--run", "--yes"]);
  assert.equal(drip.code, 0, drip.stderr);
  assert.match(drip.stderr, /drips: batch 1, [1-9]\d* subscriptions/);
  assert.match(drip.stdout, /^issued [1-9]\d* cycles for [1-9]\d* subscriptions/m);
  assert.equal(await balanceOf(sql, u.id), 900 + 375000);

  // a subscription whose drip fails (its cycle 1 is already there): --run says so, and drips
  // lists it as set aside with its error
  const [broken] = await sql`insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor)
            values (${u.id}::uuid, 'default', 'active', now() - interval '1 minute') returning id, drip_anchor`;
  await sql`insert into public.token_drips (user_id, subscription_id, plan_id, drip_amount, drip_date, cycle_number,
              balance_before, balance_after, billing_period_start, billing_period_end, metadata, is_legacy)
            values (${u.id}::uuid, ${broken.id}, 'default', 0, ${broken.drip_anchor}, 1, 0, 0, ${broken.drip_anchor},
                    ${broken.drip_anchor}::timestamptz + interval '28 days', '{}', false)`;
  const failed = await ledger(["drips", "--run", "--yes"]);
  assert.equal(failed.code, 0, failed.stderr);
  assert.match(failed.stdout, /^1 subscriptions failed and are set aside/m);
  const aside = await ledger(["drips", u.email]);
  assert.match(aside.stdout, new RegExp(`^\\S+ \\S+ UTC\\s+${broken.id}\\s+${u.id}\\s+1\\s+23505 `, "m"));

  const settings = JSON.parse((await ledger(["settings", "--json"])).stdout);
  assert.equal(typeof settings.low_balance_threshold, "string"); // bigint as text
  const bad2 = await ledger(["settings", "low_balance_threshold=-5", "--yes"]);
  assert.equal(bad2.code, 1);
  assert.match(bad2.stderr, /^ledger: 22023 invalid argument: Invalid settings/);
});

cliTest("ledger CLI: misfiled history, dry run then apply of exactly that plan", async (sql, u) => {
  const marker = `cli-misfiled-${u.id}`;
  await sql`insert into public.token_usage (user_id, feature, tokens, metadata, created_at, is_legacy)
            values (${u.id}::uuid, 'chat', 4000, ${
    JSON.stringify({ pack_id: "pack_small", marker })
  }::text::jsonb, '2025-01-01', true)`;
  const args = ["misfiled", "--type", "purchase", "--metadata", JSON.stringify({ marker })];
  const dry = await ledger(args);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^dry run: 1 legacy usage rows, 4,000 tokens, as purchase$/m);
  const plan = /^plan ([0-9a-f]{32}) /m.exec(dry.stdout)![1];
  assert.match(dry.stdout, new RegExp(`--apply --plan ${plan}$`, "m"));
  assert.equal(
    (await sql`select count(*)::int as n from public.token_usage_corrections where user_id = ${u.id}::uuid`)[
      0
    ].n,
    0,
  );
  const applied = await ledger([...args, "--apply", "--plan", plan, "--yes"]);
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /^corrected 1 rows now, 0 were already corrected$/m);
  const st = await ledger(["statement", u.email]);
  assert.match(st.stdout, /legacy purchase\s+\+4,000\s+-\s+pack_small, by misfiled_usage/);
});
