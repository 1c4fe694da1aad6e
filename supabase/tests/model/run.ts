// Runs the model suite: a throw-away cluster (MODEL_DB_PORT, default TEST_DB_PORT + 6), the webhook served against it,
// and fast-check's model runner over the commands of steps.ts. Used by the Deno test (a bounded
// budget), by `npm run test:model -- --seed S --path P` (replays one failure exactly) and by
// `npm run test:long -- --minutes N`.
import fc from "fast-check";
import { makeCluster, suitePort } from "./cluster.ts";
import { newWorld, prepareCluster, type Real, seedBalances, type World } from "./harness.ts";
import { commandArbs } from "./steps.ts";
import { serveFunction } from "../deno/_helpers.ts";
import { testWebhookSecret } from "../deno/_stripe.ts";
import { closeDb } from "../../functions/stripe-webhook/handler.ts";
import { storedBalance } from "./model.ts";

export interface RunOptions {
  seed?: number;
  path?: string;
  numRuns?: number;
  timeLimitMs?: number;
  maxCommands?: number;
  /** fast-check's replayPath of a failure (printed with it): needed with `path` to replay commands. */
  replayPath?: string;
  verbose?: boolean;
}

export interface RunReport {
  seed: number;
  runs: number;
  commands: number;
  calls: number;
  parallel: number;
  http: number;
  states: Set<string>;
  outcomes: Record<string, number>;
  failure?: string;
  replay?: string;
}

/** A coarse picture of a world, to count distinct states a run reached. */
function abstractState(w: World): string {
  return w.users.map((u) => {
    const b = storedBalance(w.s, u);
    const debt = w.s.users.get(u)!.debt;
    const holds = w.s.holds.filter((h) => h.userId === u && h.status === "held").length;
    const lots = w.s.lots.filter((l) => l.userId === u && l.remaining > 0).length;
    const subs = w.s.subs.filter((x) => x.userId === u).map((x) => x.status[0]).sort().join("");
    return `${Math.sign(b)}${Math.min(Math.ceil(Math.log10(Math.abs(b) + 1)), 7)}/${debt > 0 ? "d" : ""}${
      Math.min(holds, 3)
    }h${Math.min(lots, 5)}l${subs}`;
  }).join("|");
}

export interface Env {
  real: Real;
  close(): Promise<void>;
}

/** The cluster and the served webhook for a session of runs. */
export async function openEnv(): Promise<Env> {
  const cluster = await makeCluster("model", suitePort("MODEL_DB_PORT", 6));
  const sql = cluster.connect(8);
  const check = cluster.connect(1);
  await prepareCluster(check);
  const server = await serveFunction("stripe-webhook", {
    STRIPE_WEBHOOK_SECRET: testWebhookSecret,
    SUPABASE_DB_URL: cluster.url,
  });
  return {
    real: { sql, check, webhookUrl: server.url },
    close: async () => {
      await server.close();
      await closeDb();
      await sql.end({ timeout: 5 });
      await check.end({ timeout: 5 });
      await cluster.destroy();
    },
  };
}

/** The webhook logs every refused event (55000, an unknown pack...): expected here, so kept quiet. */
export function quietWebhook(): () => void {
  const { error, warn } = console;
  const keep = (f: (...a: unknown[]) => void) => (...a: unknown[]) => {
    if (typeof a[0] === "string" && a[0].startsWith("stripe-webhook:")) return;
    f(...a);
  };
  console.error = keep(error);
  console.warn = keep(warn);
  return () => {
    console.error = error;
    console.warn = warn;
  };
}

export async function runModel(env: Env, opts: RunOptions = {}): Promise<RunReport> {
  const restore = quietWebhook();
  try {
    return await runModelLoud(env, opts);
  } finally {
    restore();
  }
}

async function runModelLoud(env: Env, opts: RunOptions): Promise<RunReport> {
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const report: RunReport = {
    seed,
    runs: 0,
    commands: 0,
    calls: 0,
    parallel: 0,
    http: 0,
    states: new Set(),
    outcomes: {},
  };
  const property = fc.asyncProperty(
    fc.commands(commandArbs(), {
      maxCommands: opts.maxCommands ?? 60,
      size: "max",
      replayPath: opts.replayPath,
    }),
    async (cmds) => {
      const world = await newWorld(env.real);
      await seedBalances(world, env.real);
      report.runs++;
      world.afterStep = () => report.states.add(abstractState(world));
      await fc.asyncModelRun(() => ({ model: world, real: env.real }), cmds);
      report.commands += world.stats.commands;
      report.calls += world.stats.calls;
      report.parallel += world.stats.parallel;
      report.http += world.stats.http;
      for (const [k, n] of Object.entries(world.stats.outcomes)) {
        report.outcomes[k] = (report.outcomes[k] ?? 0) + n;
      }
    },
  );
  const result = await fc.check(property, {
    seed,
    path: opts.path,
    numRuns: opts.numRuns ?? 1_000_000,
    interruptAfterTimeLimit: opts.timeLimitMs,
    markInterruptAsFailure: false,
    endOnFailure: false,
    verbose: opts.verbose ? 1 : 0,
  });
  if (result.failed) {
    const cause = result.errorInstance instanceof Error
      ? result.errorInstance.message
      : String(result.errorInstance);
    report.failure = `${fc.defaultReportMessage(result) ?? "failed"}\n${cause}`;
    const replayPath = /replayPath="([^"]*)"/.exec(report.failure)?.[1];
    report.replay = `npm run test:model -- --seed ${result.seed} --path "${result.counterexamplePath}"` +
      (replayPath ? ` --replay-path "${replayPath}"` : "");
  }
  return report;
}
