// Command line for the model suite (scripts/test-model.sh sets the ports and the PATH):
//
//   npm run test:model -- --seed S --path P --replay-path R
//                                              replay a failure exactly (as its report prints it)
//   npm run test:model -- --seconds 60         one run of the model suite with a new seed
//   npm run test:long -- --minutes N           the same generators for N minutes, a new seed each
//                                              round (model, hostile corpus, crash recovery);
//                                              writes a short report
//   npm run test:crash -- --repeat 10          the crash round ten times in a row
import { parseArgs } from "node:util";
import { openEnv, runModel } from "./run.ts";
import { runCorpus } from "./corpus.ts";
import { crashRound } from "./crash.ts";
import { switchesOn } from "./known_bugs.ts";

const USAGE = `usage:
  npm run test:model -- --seed S --path P --replay-path R
                                             replay a failure exactly (as its report prints it)
  npm run test:model [-- --seconds 60]       one run of the model suite with a new seed
  npm run test:long [-- --minutes 10] [--report FILE]
                                             the same generators for N minutes, a new seed each
                                             round (model, hostile corpus, crash recovery); writes
                                             a short report to .local-stack/test-logs/ (or FILE)
  npm run test:crash [-- --repeat 1] [--seed S]
                                             the crash round, N times in a row
Clusters on MODEL_DB_PORT and CRASH_DB_PORT (default TEST_DB_PORT + 6 and + 7).`;

// A wrong option prints the usage, not parseArgs' stack trace.
function options(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        seed: { type: "string" },
        path: { type: "string" },
        "replay-path": { type: "string" },
        seconds: { type: "string" },
        minutes: { type: "string" },
        report: { type: "string" },
        long: { type: "boolean" },
        crash: { type: "boolean" },
        repeat: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
}
const values = options(Deno.args);
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const stateDir = new URL("../../../.local-stack/test-logs/", import.meta.url).pathname;

async function replayOrOnce() {
  const env = await openEnv();
  try {
    const report = await runModel(env, {
      seed: values.seed ? Number(values.seed) : undefined,
      path: values.path,
      replayPath: values["replay-path"],
      numRuns: values.path ? 1 : undefined,
      timeLimitMs: values.path ? undefined : Number(values.seconds ?? 60) * 1000,
    });
    console.log(
      `seed ${report.seed}: ${report.runs} runs, ${report.commands} commands, ${report.states.size} distinct states`,
    );
    if (report.failure) {
      console.log(report.failure);
      console.log(`replay: ${report.replay}`);
      Deno.exit(1);
    }
  } finally {
    await env.close();
  }
}

async function long(minutes: number) {
  const until = Date.now() + minutes * 60_000;
  const failures: string[] = [];
  const states = new Set<string>();
  let rounds = 0, commands = 0, calls = 0, corpus = 0, crashes = 0;
  const started = new Date().toISOString();
  while (Date.now() < until) {
    rounds++;
    const left = until - Date.now();
    const env = await openEnv();
    try {
      const r = await runModel(env, { timeLimitMs: Math.max(Math.min(left, 120_000) - 20_000, 10_000) });
      commands += r.commands;
      calls += r.calls;
      for (const s of r.states) states.add(s);
      if (r.failure) failures.push(`model, seed ${r.seed}: ${r.replay}\n${r.failure}`);
      const seed = (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
      const c = await runCorpus(env.real, { seed, size: 1000 });
      corpus += c.inputs;
      if (c.failures.length) failures.push(`corpus, seed ${seed}: ${c.failures.slice(0, 5).join("\n")}`);
    } finally {
      await env.close();
    }
    if (Date.now() < until) {
      const seed = (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
      try {
        const c = await crashRound({ seed });
        crashes++;
        if (c.problems.length) failures.push(`crash, seed ${seed}: ${c.problems.join("\n")}`);
      } catch (e) {
        failures.push(`crash, seed ${seed}: ${(e as Error).message}`);
      }
    }
    console.log(
      `round ${rounds}: ${commands} commands, ${states.size} distinct states, ${corpus} hostile inputs, ${crashes} crashes, ${failures.length} failures`,
    );
  }
  const text = [
    `# Model suite, long run`,
    ``,
    `- started ${started}, ${minutes} minutes, ${rounds} rounds (a new seed each)`,
    `- commands run: ${commands} (${calls} calls)`,
    `- distinct states: ${states.size}`,
    `- hostile inputs: ${corpus}`,
    `- crash recoveries: ${crashes}`,
    `- known-bug switches on: ${switchesOn().join(", ") || "none"}`,
    `- failures: ${failures.length}`,
    ...failures.map((f) => `\n## Failure\n\n\`\`\`\n${f}\n\`\`\``),
    ``,
  ].join("\n");
  Deno.mkdirSync(stateDir, { recursive: true });
  const file = values.report ?? `${stateDir}model-long-${started.replace(/[:.]/g, "-")}.md`;
  Deno.writeTextFileSync(file, text);
  console.log(text);
  console.log(`report: ${file}`);
  if (failures.length) Deno.exit(1);
}

async function crashes(times: number) {
  for (let i = 1; i <= times; i++) {
    const seed = values.seed && times === 1
      ? Number(values.seed)
      : (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
    const c = await crashRound({ seed });
    console.log(
      `crash round ${i}/${times}, seed ${seed}: ${c.acked} acknowledged, ${c.unacked} unacknowledged, drip batch ${c.batch} at the crash, ${
        c.problems.length ? "FAILED" : "ok"
      }`,
    );
    if (c.problems.length) {
      console.log(c.problems.join("\n"));
      Deno.exit(1);
    }
  }
}

if (values.long || values.minutes) await long(Number(values.minutes ?? 10));
else if (values.crash) await crashes(Number(values.repeat ?? 1));
else await replayOrOnce();
