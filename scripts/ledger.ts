// The operator CLI: `npm run ledger -- <command> [options]` (scripts/ledger.sh runs this file).
//
// It connects to the local stack's database by default (127.0.0.1:$DB_PORT), or to any database
// given with --db-url or SUPABASE_DB_URL, and acts as the service: every call is one
// transaction that switches to service_role with the service's JWT claims, exactly as
// PostgREST runs a request made with the service key, and goes through the ledger's RPCs. It
// never writes a table itself. Errors are one line: the SQLSTATE, what it means, the message.
import postgres from "postgres";
import type { Statement, StatementEntry as Entry } from "../supabase/types/ledger.ts";

const HELP = `Operate the token ledger as the service.

usage: npm run ledger -- <command> [arguments] [options]

commands
  user <email|id>                       find users by id or (part of) an email, with their tokens
  balance <user> [--at TIME]            balance, debt, holds and live lots (now, or as they were at TIME)
  statement <user> [--limit N] [--all] [--from TIME] [--to TIME]
                                        every entry that changed the balance, oldest first, with the
                                        balance after each: why the balance is what it is
  grant <user> <tokens> --reason TEXT [--type admin_grant|trial_grant|subscription_grant]
                                        [--expires-at TIME] [--key KEY]
  deduct <user> <tokens> --reason TEXT [--key KEY]
  void <transaction-id> --reason TEXT [--key KEY]
                                        take back what is left of one grant or purchase
  reconcile [<user>] [--deep] [--record]
                                        the reconciliation report of a user (deep checks included),
                                        or every user with a problem and the last recorded runs;
                                        --record runs the daily job now and records it
  drips [<user>] [--run]                next due drips and recent drip runs; --run issues every due
                                        drip now, in batches, with progress
  holds [<user>]                        active holds
  holds release <hold-id>               release a hold
  cron                                  pg_cron jobs, their last run and failures in 24 h
  misfiled --type TYPE [--feature F] [--model M] [--metadata JSON] [--ids ID,...] [--reason TEXT]
                                        dry run of correcting legacy usage rows that were really
                                        purchases or grants; add --apply --plan HASH to apply it
  settings [name=value ...]             show the ledger settings, or change some

<user> is a user id or an exact email address.

options
  --db-url URL    the database (default: SUPABASE_DB_URL, else the local stack on DB_PORT)
  --json          print the result as JSON (for scripts)
  --yes           do not ask before a change (grant, deduct, void, holds release, misfiled --apply,
                  settings, drips --run, reconcile --record)
  --help          this text

Changes take an idempotency key: the CLI makes one (cli:<uuid>) and prints it; to retry a
change safely, send it again with --key <that key>.`;

// What each SQLSTATE means, for one-line errors.
const SQLSTATES: Record<string, string> = {
  "22023": "invalid argument",
  "42501": "not allowed",
  "PT402": "insufficient tokens",
  "PT409": "idempotency key reused for a different request",
  "55000": "a prerequisite is not recorded yet",
  "22P02": "invalid input syntax",
  "22007": "invalid date or time",
  "22008": "date or time out of range",
  "22003": "number out of range",
  "23505": "duplicate key",
  "23514": "check constraint violated",
  "40001": "serialization failure: retry",
  "40P01": "deadlock: retry",
  "42883": "function not found (are the migrations applied?)",
  "42P01": "table not found (are the migrations applied?)",
  "57014": "statement cancelled (timeout)",
  "3D000": "database does not exist",
  "28P01": "password authentication failed",
  "28000": "not authorized to connect",
  "53300": "too many connections",
  "XX000": "internal error",
};

class UsageError extends Error {}
class Cancelled extends Error {}

type Options = {
  json: boolean;
  yes: boolean;
  dbUrl?: string;
  values: Map<string, string>;
  flags: Set<string>;
  args: string[];
};

const VALUE_OPTIONS = new Set([
  "--db-url",
  "--at",
  "--from",
  "--to",
  "--limit",
  "--reason",
  "--type",
  "--expires-at",
  "--key",
  "--feature",
  "--model",
  "--metadata",
  "--ids",
  "--plan",
]);
const FLAG_OPTIONS = new Set([
  "--json",
  "--yes",
  "--all",
  "--deep",
  "--record",
  "--run",
  "--apply",
  "--help",
  "-h",
]);

function parse(argv: string[]): Options {
  const o: Options = { json: false, yes: false, values: new Map(), flags: new Set(), args: [] };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline: string | undefined;
    if (a.startsWith("--") && a.includes("=")) {
      [a, inline] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
    }
    if (VALUE_OPTIONS.has(a)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      o.values.set(a, v);
    } else if (FLAG_OPTIONS.has(a)) o.flags.add(a);
    else if (a.startsWith("-") && !/^-\d/.test(a)) throw new UsageError(`unknown option ${a} (see --help)`);
    else o.args.push(a);
  }
  o.json = o.flags.has("--json");
  o.yes = o.flags.has("--yes");
  o.dbUrl = o.values.get("--db-url");
  return o;
}

function dbUrl(o: Options): string {
  return o.dbUrl ?? Deno.env.get("SUPABASE_DB_URL") ??
    `postgresql://postgres:postgres@127.0.0.1:${Deno.env.get("DB_PORT") ?? "54322"}/postgres?sslmode=disable`;
}

type Sql = ReturnType<typeof postgres>;

/** One request as the service: a transaction in service_role with the service's claims. */
async function service<T>(sql: Sql, call: (tx: Sql) => Promise<T>): Promise<T> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', 'service_role', true), set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
    return await call(tx as unknown as Sql);
  }) as T;
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

const out = (line = "") => console.log(line);
const progress = (line: string) => {
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[K${line}`));
  else console.error(line);
};
const progressDone = () => {
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
};

function tokens(n: unknown): string {
  if (n === null || n === undefined) return "-";
  const v = typeof n === "string" ? BigInt(n) : BigInt(Math.trunc(Number(n)));
  return v.toLocaleString("en-US");
}

function signed(n: unknown): string {
  if (n === null || n === undefined) return "?";
  const v = Number(n);
  return (v > 0 ? "+" : "") + tokens(n);
}

function time(t: unknown): string {
  if (!t) return "-";
  const d = new Date(String(t));
  if (isNaN(d.getTime())) return String(t);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/Z$/, " UTC");
}

function table(headers: string[], rows: string[][], right: number[] = []) {
  if (rows.length === 0) return;
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (right.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ")
      .trimEnd();
  out(line(headers));
  out(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) out(line(r));
}

function json(value: unknown) {
  out(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
}

// ---------------------------------------------------------------------------------------------
// Shared steps
// ---------------------------------------------------------------------------------------------

type User = {
  user_id: string;
  email: string | null;
  balance: string;
  debt: string;
  held: string;
  available: string;
};

/** A user id, or an exact (case-insensitive) email address. */
async function resolveUser(sql: Sql, query: string | undefined): Promise<User> {
  if (!query) throw new UsageError("name the user: an id or an email address");
  const rows = await service(sql, (tx) => tx<User[]>`select * from public.find_ledger_users(${query}, 20)`);
  const exact = rows.filter((r) =>
    r.user_id === query.toLowerCase() || (r.email ?? "").toLowerCase() === query.toLowerCase()
  );
  if (exact.length === 1) return exact[0];
  if (rows.length === 0) throw new UsageError(`no user matches ${query}`);
  throw new UsageError(
    `${query} is not an exact id or email; did you mean: ${
      rows.slice(0, 5).map((r) => r.email ?? r.user_id).join(", ")
    }`,
  );
}

function who(u: User) {
  return u.email ? `${u.email} (${u.user_id})` : u.user_id;
}

function positiveTokens(text: string | undefined): string {
  if (!text || !/^\d[\d_,]*$/.test(text)) throw new UsageError("give the tokens as a positive whole number");
  const v = text.replace(/[_,]/g, "");
  if (BigInt(v) <= 0n) throw new UsageError("give the tokens as a positive whole number");
  return v;
}

function required(o: Options, name: string): string {
  const v = o.values.get(name);
  if (!v || !v.trim()) throw new UsageError(`${name} is required`);
  return v;
}

async function confirm(o: Options, question: string) {
  if (o.yes) return;
  const encoder = new TextEncoder();
  Deno.stderr.writeSync(encoder.encode(`${question} [y/N] `));
  const buf = new Uint8Array(256);
  const n = await Deno.stdin.read(buf);
  const answer = n ? new TextDecoder().decode(buf.subarray(0, n)).trim().toLowerCase() : "";
  if (n === null) Deno.stderr.writeSync(encoder.encode("\n"));
  if (answer !== "y" && answer !== "yes") {
    throw new Cancelled("cancelled: nothing was changed (add --yes to skip this question)");
  }
}

function newKey(o: Options): string {
  return o.values.get("--key") ?? `cli:${crypto.randomUUID()}`;
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

async function cmdUser(sql: Sql, o: Options) {
  const query = o.args[1];
  if (!query) throw new UsageError("usage: user <email|id>");
  const rows = await service(sql, (tx) => tx`select * from public.find_ledger_users(${query}, 50)`);
  if (o.json) return json(rows);
  if (rows.length === 0) return out(`no user matches ${query}`);
  table(
    ["user id", "email", "balance", "debt", "held", "available", "subscriptions", "last entry"],
    rows.map((r) => [
      r.user_id,
      r.email ?? "-",
      tokens(r.balance),
      tokens(r.debt),
      tokens(r.held),
      tokens(r.available),
      (r.subscriptions as { status: string; plan_id: string }[]).map((s) => `${s.plan_id}:${s.status}`).join(
        " ",
      ) || "-",
      time(r.last_entry_at),
    ]),
    [2, 3, 4, 5],
  );
}

type Lot = { lot_id?: string; source: string; remaining: string; expires_at: string | null };

async function cmdBalance(sql: Sql, o: Options) {
  const user = await resolveUser(sql, o.args[1]);
  const at = o.values.get("--at");
  const b = await service(
    sql,
    async (tx) =>
      at
        ? (await tx`select public.get_token_balance_at(${at}::timestamptz, ${user.user_id}::uuid) as b`)[0].b
        : (await tx`select public.get_token_balance(${user.user_id}::uuid) as b`)[0].b,
  );
  if (o.json) return json(b);
  out(`user       ${who(user)}`);
  if (at) {
    out(
      `as of      ${time(b.at)}${
        b.last_entry ? ` (after the entry of ${time(b.last_entry.at)})` : " (before any entry)"
      }`,
    );
  }
  out(`balance    ${tokens(b.balance)}`);
  out(`debt       ${tokens(b.debt)}`);
  out(`held       ${tokens(b.held)}`);
  out(`available  ${tokens(b.available)}`);
  if (at && Number(b.lapsed) > 0) out(`lapsed     ${tokens(b.lapsed)} (expired, not yet swept)`);
  out();
  const lots = b.lots as Lot[];
  if (lots.length === 0) return out("no live lots");
  table(
    ["lot (burn order)", "remaining", "expires"],
    lots.map((l) => [l.source, tokens(l.remaining), time(l.expires_at)]),
    [1],
  );
}

function describe(e: Entry): string {
  const d = e.details;
  const parts: string[] = [];
  if (e.kind === "archived_usage") {
    parts.push(`${d.usage_rows} usage rows of ${time(d.period_start)} to ${time(d.period_end)}, archived`);
    if (Number(d.legacy_rows) > 0) parts.push(`${d.legacy_rows} legacy`);
    parts.push(`in ${d.archived_table}`);
  } else if (e.kind === "usage") {
    parts.push(String(d.feature));
    if (d.model) parts.push(String(d.model));
    if (d.hold_id) parts.push(`hold ${String(d.hold_id).slice(0, 8)}`);
    if (d.overage_tokens) parts.push(`overage ${tokens(d.overage_tokens)} (debt)`);
  } else if (e.kind === "drip") {
    parts.push(`cycle ${d.cycle_number} of ${d.plan_id ?? "?"}: +${tokens(d.drip_amount)}`);
    if (Number(d.expired_tokens) > 0) parts.push(`expired ${tokens(d.expired_tokens)}`);
    if (Number(d.rollover_from_previous) > 0) parts.push(`rolled over ${tokens(d.rollover_from_previous)}`);
  } else {
    if (d.pack_id) parts.push(String(d.pack_id));
    if (d.source) parts.push(`by ${d.source}`);
    if (d.amount_cents !== undefined) {
      parts.push(`${(Number(d.amount_cents) / 100).toFixed(2)} ${String(d.currency ?? "").toUpperCase()}`);
    }
    if (d.stripe_checkout_session_id) parts.push(String(d.stripe_checkout_session_id));
    else if (d.stripe_payment_intent_id) parts.push(String(d.stripe_payment_intent_id));
    if (d.reason) parts.push(`"${d.reason}"`);
    if (d.expires_at) parts.push(`expires ${time(d.expires_at)}`);
    if (d.related_transaction_id) parts.push(`of ${String(d.related_transaction_id).slice(0, 8)}`);
    if (d.corrects_usage_id) parts.push(`was usage ${String(d.corrects_usage_id).slice(0, 8)}`);
  }
  return parts.join(", ");
}

async function cmdStatement(sql: Sql, o: Options) {
  const user = await resolveUser(sql, o.args[1]);
  const all = o.flags.has("--all");
  const limit = all ? Infinity : Number(o.values.get("--limit") ?? 50);
  if (!all && (!Number.isInteger(limit) || limit < 1)) {
    throw new UsageError("--limit must be a positive whole number");
  }
  const from = o.values.get("--from") ?? null;
  const to = o.values.get("--to") ?? null;
  const entries: Entry[] = [];
  let cursor: string | null = null;
  let more = false;
  do {
    const pageSize = Math.min(1000, limit - entries.length);
    const page: Statement = await service(
      sql,
      async (tx) =>
        (await tx`select public.get_token_statement(${user.user_id}::uuid, ${from}::timestamptz, ${to}::timestamptz,
                  ${pageSize}, ${cursor}) as s`)[0].s,
    );
    entries.push(...page.entries);
    cursor = page.next_cursor;
    more = cursor !== null;
    if (all && more) progress(`statement: ${entries.length} entries read...`);
  } while (more && entries.length < limit);
  progressDone();
  if (o.json) return json({ user_id: user.user_id, entries, next_cursor: cursor });

  const [b] = await service(sql, (tx) => tx`select public.get_token_balance(${user.user_id}::uuid) as b`);
  out(
    `statement of ${who(user)}${
      from || to ? `, ${from ? `from ${time(from)} ` : ""}${to ? `before ${time(to)}` : ""}` : ""
    }`,
  );
  if (more) out(`(the latest ${entries.length} entries; --all or --limit N for more)`);
  out();
  if (entries.length === 0) out("no entries");
  table(
    ["when", "entry", "change", "balance", "details"],
    [...entries].reverse().map((e) => [
      time(e.at),
      `${e.legacy ? "legacy " : ""}${e.type === "usage" || e.type === "drip" ? e.type : e.type}`,
      signed(e.tokens),
      e.balance_after === null ? "-" : tokens(e.balance_after),
      describe(e),
    ]),
    [2, 3],
  );
  out();
  const bal = b.b;
  out(
    `balance now ${tokens(bal.balance)} (debt ${tokens(bal.debt)}, held ${tokens(bal.held)}, available ${
      tokens(bal.available)
    })`,
  );
  const newest = entries.find((e) => !e.legacy);
  if (!from && !to && newest && Number(newest.balance_after) !== Number(bal.balance)) {
    out(
      `the newest entry left ${
        tokens(newest.balance_after)
      }: the difference is tokens of lapsed lots not yet swept`,
    );
  }
}

async function cmdGrant(sql: Sql, o: Options, deduct: boolean) {
  const user = await resolveUser(sql, o.args[1]);
  const amount = positiveTokens(o.args[2]);
  const reason = required(o, "--reason");
  const type = deduct ? "admin_deduction" : o.values.get("--type") ?? "admin_grant";
  if (!deduct && !["admin_grant", "trial_grant", "subscription_grant"].includes(type)) {
    throw new UsageError("--type must be admin_grant, trial_grant or subscription_grant");
  }
  const expires = o.values.get("--expires-at") ?? null;
  if (deduct && expires) throw new UsageError("--expires-at applies to grants");
  const key = newKey(o);
  await confirm(
    o,
    `${deduct ? "Deduct" : `Grant (${type})`} ${tokens(amount)} tokens ${deduct ? "from" : "to"} ${
      who(user)
    }` +
      `${expires ? `, expiring ${time(expires)}` : ""}, reason "${reason}"? (balance now ${
        tokens(user.balance)
      })`,
  );
  const r = await service(
    sql,
    async (tx) =>
      (await tx`select public.grant_tokens(${user.user_id}::uuid, ${amount}::bigint, ${type}, ${key}, null,
                ${expires}::timestamptz, ${
        JSON.stringify({ reason, via: "ledger-cli" })
      }::text::jsonb) as r`)[0].r,
  );
  if (o.json) return json(r);
  out(
    `${r.replayed ? "already done (replayed)" : "done"}: ${r.transaction_type} ${
      signed(r.token_amount)
    }, balance ${tokens(r.balance_before)} -> ${tokens(r.balance_after)}`,
  );
  out(`transaction ${r.transaction_id}, key ${key}`);
}

async function cmdVoid(sql: Sql, o: Options) {
  const id = o.args[1];
  if (!id) throw new UsageError("usage: void <transaction-id> --reason TEXT");
  const reason = required(o, "--reason");
  const key = newKey(o);
  const [tx] = await service(
    sql,
    (t) =>
      t`select t.id, t.user_id, t.transaction_type, t.token_amount, t.created_at,
             (select l.remaining from public.token_lots l where l.transaction_id = t.id) as remaining
        from public.token_transactions t where t.id = ${id}::uuid`,
  );
  if (!tx) throw new UsageError(`no transaction ${id}`);
  await confirm(
    o,
    `Void the ${tx.transaction_type} of ${tokens(tx.token_amount)} tokens of ${
      time(tx.created_at)
    } (user ${tx.user_id}), ` +
      `taking back the ${tokens(tx.remaining)} tokens it still holds, reason "${reason}"?`,
  );
  const r = await service(
    sql,
    async (t) => (await t`select public.void_grant(${id}::uuid, ${reason}, ${key}) as r`)[0].r,
  );
  if (o.json) return json(r);
  out(
    `${r.replayed ? "already done (replayed)" : "voided"}: ${tokens(r.tokens_voided)} tokens taken back, ${
      tokens(r.tokens_spent)
    } already spent stay spent`,
  );
  out(
    `balance ${tokens(r.balance_before)} -> ${
      tokens(r.balance_after)
    }; transaction ${r.transaction_id}, key ${key}`,
  );
}

async function cmdReconcile(sql: Sql, o: Options) {
  if (o.flags.has("--record")) {
    await confirm(o, "Run the ledger-reconciliation job now and record the run?");
    const started = Date.now();
    const timer = setInterval(
      () => progress(`reconciling... ${Math.round((Date.now() - started) / 1000)} s`),
      1000,
    );
    try {
      const r = await service(
        sql,
        async (tx) => (await tx`select public.run_ledger_reconciliation() as r`)[0].r,
      );
      progressDone();
      if (o.json) return json(r);
      out(`run ${r.run_id}: ${r.status}, ${r.users_with_problems} of ${r.users_checked} users with problems`);
    } finally {
      clearInterval(timer);
    }
    return;
  }
  const query = o.args[1];
  if (query) {
    const user = await resolveUser(sql, query);
    const deep = o.flags.has("--deep") ? true : null;
    const [r] = await service(
      sql,
      (tx) => tx`select * from public.reconcile_token_ledger(${user.user_id}::uuid, ${deep})`,
    );
    if (o.json) return json(r);
    out(`user               ${who(user)}`);
    out(`balance            ${tokens(r.balance)}   (token_balances)`);
    out(`ledger balance     ${tokens(r.ledger_balance)}   (sum of the ledger entries)`);
    out(`last balance_after ${tokens(r.last_balance_after)}   (the newest entry)`);
    out(
      `lots - debt        ${tokens(BigInt(r.lots_remaining) - BigInt(r.debt))}   (lots ${
        tokens(r.lots_remaining)
      }, debt ${tokens(r.debt)})`,
    );
    out(`lapsed, unswept    ${tokens(r.lapsed_unswept)}`);
    out(`held / available   ${tokens(r.held)} / ${tokens(r.available)}`);
    out(r.problems.length === 0 ? "ok: no problem found" : `PROBLEMS: ${r.problems.join(", ")}`);
    if (r.problems.length > 0) Deno.exitCode = 3;
    return;
  }
  const started = Date.now();
  const timer = setInterval(
    () => progress(`reconciling every user... ${Math.round((Date.now() - started) / 1000)} s`),
    1000,
  );
  let rows, runs;
  try {
    const deep = o.flags.has("--deep");
    rows = await service(sql, (tx) => tx`select * from public.reconcile_token_ledger(null, ${deep})`);
    runs = await service(
      sql,
      (tx) =>
        tx`select started_at, finished_at, status, users_checked, users_with_problems
           from public.ledger_reconciliation_runs order by started_at desc limit 5`,
    );
  } finally {
    clearInterval(timer);
    progressDone();
  }
  if (o.json) return json({ problems: rows, runs });
  if (rows.length === 0) out("ok: no user has a problem");
  else {
    table(
      ["user id", "balance", "ledger", "lots - debt", "problems"],
      rows.map((
        r,
      ) => [
        r.user_id,
        tokens(r.balance),
        tokens(r.ledger_balance),
        tokens(BigInt(r.lots_remaining) - BigInt(r.debt)),
        r.problems.join(", "),
      ]),
      [1, 2, 3],
    );
    Deno.exitCode = 3;
  }
  out();
  out("recent runs of the ledger-reconciliation job:");
  if (runs.length === 0) out("  none recorded yet");
  table(
    ["started", "status", "users", "with problems"],
    runs.map((r) => [time(r.started_at), r.status, String(r.users_checked), String(r.users_with_problems)]),
    [2, 3],
  );
}

async function cmdDrips(sql: Sql, o: Options) {
  if (o.flags.has("--run")) {
    await confirm(o, "Issue every due drip now?");
    let total = { subscriptions: 0, cycles_issued: 0, tokens_dripped: 0, tokens_expired: 0, subscriptions_failed: 0 };
    for (let batch = 1;; batch++) {
      const r = await service(
        sql,
        async (tx) => (await tx`select public.run_due_drips(now(), 1000) as r`)[0].r,
      );
      total = {
        subscriptions: total.subscriptions + r.subscriptions,
        cycles_issued: total.cycles_issued + r.cycles_issued,
        tokens_dripped: total.tokens_dripped + Number(r.tokens_dripped),
        tokens_expired: total.tokens_expired + Number(r.tokens_expired),
        subscriptions_failed: total.subscriptions_failed + Number(r.subscriptions_failed ?? 0),
      };
      progress(
        `drips: batch ${batch}, ${total.subscriptions} subscriptions, ${total.cycles_issued} cycles issued`,
      );
      if (r.subscriptions === 0) break;
    }
    progressDone();
    if (o.json) return json(total);
    out(
      `issued ${total.cycles_issued} cycles for ${total.subscriptions} subscriptions: +${
        tokens(total.tokens_dripped)
      } dripped, ${tokens(total.tokens_expired)} expired`,
    );
    if (total.subscriptions_failed > 0) {
      out(`${total.subscriptions_failed} subscriptions failed and are set aside: \`drips\` lists them`);
    }
    return;
  }
  const user = o.args[1] ? await resolveUser(sql, o.args[1]) : null;
  const uid = user?.user_id ?? null;
  const [due] = await service(
    sql,
    (tx) =>
      tx`select count(*) filter (where s.next_drip_at <= now()) as due_now, count(s.next_drip_at) as scheduled
         from public.customer_subscriptions s where ${uid}::uuid is null or s.user_id = ${uid}::uuid`,
  );
  const next = await service(
    sql,
    (tx) =>
      tx`select s.id, s.user_id, s.plan_id, s.status, s.next_cycle_number, s.next_drip_at
         from public.customer_subscriptions s
        where s.next_drip_at is not null and (${uid}::uuid is null or s.user_id = ${uid}::uuid)
        order by s.next_drip_at, s.id limit 10`,
  );
  const recent = await service(
    sql,
    (tx) =>
      tx`select d.created_at, d.user_id, d.plan_id, d.cycle_number, d.drip_amount, d.expired_tokens, d.balance_after
         from public.token_drips d
        where not d.is_legacy and (${uid}::uuid is null or d.user_id = ${uid}::uuid)
        order by d.entry_seq desc limit 10`,
  );
  // Subscriptions whose drip failed: set aside until fixed and cleared (docs/api.md#drip-failures).
  const failures = await service(
    sql,
    (tx) =>
      tx`select f.failed_at, f.subscription_id, f.user_id, f.next_cycle_number, f.sqlstate, f.message
         from public.drip_failures f where ${uid}::uuid is null or f.user_id = ${uid}::uuid
        order by f.failed_at desc limit 10`,
  );
  const job = (await service(sql, (tx) => tx`select * from public.get_ledger_jobs()`)).find((j) =>
    j.jobname === "token-drips"
  );
  if (o.json) return json({ due_now: due.due_now, scheduled: due.scheduled, next, recent, failures, job });
  out(`${due.due_now} subscriptions due now, ${due.scheduled} scheduled${user ? ` for ${who(user)}` : ""}`);
  if (job) {
    out(
      `token-drips job (${job.schedule}): last run ${job.last_status ?? "never"} ${time(job.last_start)}, ` +
        `${job.runs_24h} runs and ${job.failures_24h} failures in 24 h`,
    );
  }
  if (failures.length > 0) {
    out();
    out("set aside after a failed drip (fix, then delete the drip_failures row or run_drip it):");
    table(
      ["failed", "subscription", "user", "cycle", "error"],
      failures.map((f) => [
        time(f.failed_at),
        f.subscription_id,
        f.user_id,
        String(f.next_cycle_number),
        `${f.sqlstate} ${f.message}`,
      ]),
    );
  }
  out();
  out("next due:");
  if (next.length === 0) out("  nothing scheduled");
  table(
    ["due", "subscription", "user", "plan", "status", "cycle"],
    next.map((
      s,
    ) => [time(s.next_drip_at), s.id, s.user_id, s.plan_id ?? "-", s.status, String(s.next_cycle_number)]),
  );
  out();
  out("recent drips:");
  if (recent.length === 0) out("  none");
  table(
    ["when", "user", "plan", "cycle", "dripped", "expired", "balance after"],
    recent.map((
      d,
    ) => [
      time(d.created_at),
      d.user_id,
      d.plan_id ?? "-",
      String(d.cycle_number),
      tokens(d.drip_amount),
      tokens(d.expired_tokens),
      tokens(d.balance_after),
    ]),
    [3, 4, 5, 6],
  );
}

async function cmdHolds(sql: Sql, o: Options) {
  if (o.args[1] === "release") {
    const id = o.args[2];
    if (!id) throw new UsageError("usage: holds release <hold-id>");
    const [h] = await service(sql, (tx) => tx`select * from public.token_holds where id = ${id}::uuid`);
    if (!h) throw new UsageError(`no hold ${id}`);
    await confirm(
      o,
      `Release the ${h.status} hold of ${tokens(h.tokens_held)} tokens (${h.feature}) of user ${h.user_id}?`,
    );
    const r = await service(sql, async (tx) => (await tx`select public.release_hold(${id}::uuid) as r`)[0].r);
    if (o.json) return json(r);
    out(
      `${r.replayed ? "already released" : "released"}: ${tokens(r.released)} tokens; available now ${
        tokens(r.available_after)
      }`,
    );
    return;
  }
  const user = o.args[1] ? await resolveUser(sql, o.args[1]) : null;
  const uid = user?.user_id ?? null;
  const rows = await service(
    sql,
    (tx) =>
      tx`select h.id, h.user_id, h.feature, h.tokens_held, h.created_at, h.expires_at, h.expires_at <= now() as lapsed
         from public.token_holds h
        where h.status = 'held' and (${uid}::uuid is null or h.user_id = ${uid}::uuid)
        order by h.expires_at limit 200`,
  );
  if (o.json) return json(rows);
  if (rows.length === 0) return out("no active holds");
  table(
    ["hold id", "user", "feature", "held", "since", "expires"],
    rows.map((
      h,
    ) => [
      h.id,
      h.user_id,
      h.feature,
      tokens(h.tokens_held),
      time(h.created_at),
      `${time(h.expires_at)}${h.lapsed ? " (lapsed)" : ""}`,
    ]),
    [3],
  );
}

async function cmdCron(sql: Sql, o: Options) {
  const rows = await service(sql, (tx) => tx`select * from public.get_ledger_jobs()`);
  if (o.json) return json(rows);
  table(
    ["job", "schedule", "active", "last run", "status", "runs 24h", "failed 24h", "command"],
    rows.map((j) => [
      j.jobname,
      j.schedule,
      j.active ? "yes" : "no",
      time(j.last_start),
      j.last_status ?? "-",
      String(j.runs_24h),
      String(j.failures_24h),
      j.command.length > 60 ? j.command.slice(0, 57) + "..." : j.command,
    ]),
    [5, 6],
  );
  for (const j of rows) if (j.last_status === "failed") out(`${j.jobname} last failed: ${j.last_message}`);
}

async function cmdMisfiled(sql: Sql, o: Options) {
  const type = required(o, "--type");
  const ids = o.values.get("--ids")?.split(",").map((s) => s.trim()).filter(Boolean) ?? null;
  const metadata = o.values.get("--metadata") ?? null;
  if (metadata) {
    try {
      JSON.parse(metadata);
    } catch {
      throw new UsageError('--metadata must be JSON, e.g. \'{"pack_id": "pack_small"}\'');
    }
  }
  const feature = o.values.get("--feature") ?? null;
  const model = o.values.get("--model") ?? null;
  const reason = o.values.get("--reason") ?? null;
  const apply = o.flags.has("--apply");
  const plan = o.values.get("--plan") ?? null;
  if (apply && !plan) throw new UsageError("--apply needs --plan HASH from the dry run you reviewed");
  const call = (tx: Sql, doApply: boolean) =>
    tx`select public.correct_misfiled_usage(${type}, ${ids}::uuid[], ${feature}, ${model}, ${metadata}::text::jsonb, ${reason},
         ${doApply}, ${plan}) as r`;
  if (apply) {
    const dry = await service(sql, async (tx) => (await call(tx, false))[0].r);
    await confirm(
      o,
      `Correct ${dry.total_rows} legacy usage rows (${
        tokens(dry.total_tokens)
      } tokens) into ${type} entries?`,
    );
  }
  const r = await service(sql, async (tx) => (await call(tx, apply))[0].r);
  if (o.json) return json(r);
  out(
    `${r.dry_run ? "dry run" : "applied"}: ${r.total_rows} legacy usage rows, ${
      tokens(r.total_tokens)
    } tokens, as ${type}`,
  );
  out();
  table(
    ["usage id", "user", "when", "feature", "tokens", "becomes", "corrected by"],
    r.rows.map((x: Record<string, any>) => [
      x.usage_id,
      x.user_id,
      time(x.created_at),
      x.feature,
      tokens(x.tokens),
      `${x.becomes.transaction_type}${x.becomes.pack_id ? ` ${x.becomes.pack_id}` : ""}`,
      x.corrected_by ?? "-",
    ]),
    [4],
  );
  out();
  out("per user:");
  table(
    ["user", "rows", "tokens"],
    r.users.map((u: Record<string, any>) => [u.user_id, String(u.rows), tokens(u.tokens)]),
    [1, 2],
  );
  out();
  if (r.dry_run) {
    out(
      `plan ${r.plan_hash} (${r.already_corrected} of these already corrected). Balances do not change either way.`,
    );
    const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`);
    out(
      `to apply exactly this: npm run ledger -- ${
        Deno.args.filter((a) => a !== "--json").map(quote).join(" ")
      } --apply --plan ${r.plan_hash}`,
    );
  } else {
    out(`corrected ${r.corrected} rows now, ${r.already_corrected} were already corrected`);
  }
}

async function cmdSettings(sql: Sql, o: Options) {
  const changes: Record<string, unknown> = {};
  for (const a of o.args.slice(1)) {
    const m = /^([a-z_][a-z0-9_]*)=(.*)$/.exec(a);
    if (!m) throw new UsageError(`settings are name=value, not ${a}`);
    changes[m[1]] = /^-?\d+$/.test(m[2]) ? Number(m[2]) : m[2] === "null" ? null : m[2];
  }
  let row;
  if (Object.keys(changes).length > 0) {
    await confirm(
      o,
      `Change the ledger settings: ${Object.entries(changes).map(([k, v]) => `${k} = ${v}`).join(", ")}?`,
    );
    row = await service(
      sql,
      async (tx) =>
        (await tx`select public.update_ledger_settings(${JSON.stringify(changes)}::text::jsonb) as r`)[0].r,
    );
  } else {
    [row] = await service(sql, (tx) => tx`select * from public.ledger_settings`);
  }
  if (o.json) return json(row);
  for (const [k, v] of Object.entries(row)) {
    if (k !== "id") out(`${k.padEnd(28)} ${v instanceof Date ? time(v) : v}`);
  }
}

const COMMANDS: Record<string, (sql: Sql, o: Options) => Promise<void>> = {
  user: cmdUser,
  balance: cmdBalance,
  statement: cmdStatement,
  grant: (sql, o) => cmdGrant(sql, o, false),
  deduct: (sql, o) => cmdGrant(sql, o, true),
  void: cmdVoid,
  reconcile: cmdReconcile,
  drips: cmdDrips,
  holds: cmdHolds,
  cron: cmdCron,
  misfiled: cmdMisfiled,
  settings: cmdSettings,
};

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

function oneLine(e: unknown, url: string): string {
  const err = e as {
    code?: string;
    message?: string;
    detail?: string;
    hint?: string;
    errno?: string;
    address?: string;
    port?: number;
  };
  const code = err.code ?? "";
  if (/^[0-9A-Z]{5}$/.test(code)) {
    const meaning = SQLSTATES[code] ??
      (code.startsWith("08")
        ? "connection failure"
        : code.startsWith("23")
        ? "integrity violation"
        : "database error");
    const extra = [err.detail, err.hint ? `hint: ${err.hint}` : undefined].filter(Boolean).join("; ");
    return `${code} ${meaning}: ${err.message}${extra ? ` (${extra})` : ""}`;
  }
  const target = (() => {
    try {
      const u = new URL(url);
      return `${u.hostname}:${u.port || 5432}`;
    } catch {
      return "the database";
    }
  })();
  if (code === "ECONNREFUSED" || /ECONNREFUSED|Connection refused/i.test(String(err.message))) {
    return `cannot connect to ${target} (connection refused): is the local stack running (npm start)? ` +
      `For another database use --db-url or SUPABASE_DB_URL.`;
  }
  if (code === "CONNECT_TIMEOUT") return `cannot connect to ${target} (timed out)`;
  return `${code ? `${code}: ` : ""}${err.message ?? String(e)}`;
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parse(Deno.args);
  } catch (e) {
    console.error(`ledger: ${(e as Error).message}`);
    return 2;
  }
  const command = o.args[0];
  if (o.flags.has("--help") || o.flags.has("-h") || !command || command === "help") {
    out(HELP);
    return command || o.flags.size > 0 ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    console.error(`ledger: unknown command ${command} (see --help)`);
    return 2;
  }
  const url = dbUrl(o);
  const sql = postgres(url, {
    max: 1,
    prepare: false,
    onnotice: () => {},
    connect_timeout: 10,
    types: { bigint: postgres.BigInt },
  });
  try {
    await run(sql, o);
    return typeof Deno.exitCode === "number" ? Deno.exitCode : 0;
  } catch (e) {
    progressDone();
    if (e instanceof UsageError) {
      console.error(`ledger: ${e.message}`);
      return 2;
    }
    if (e instanceof Cancelled) {
      console.error(`ledger: ${e.message}`);
      return 1;
    }
    console.error(`ledger: ${oneLine(e, url)}`);
    return 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

Deno.exit(await main());
