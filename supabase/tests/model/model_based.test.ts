// The randomized model-based suite (issue 14): commands for every public RPC and Stripe event
// type, replays, key reuse, invalid arguments, clock advances through p_as_of, groups of calls
// at once on one user; after every command the database is compared with the model
// (model.ts). `npm test` gives it a bounded budget (MODEL_BUDGET_SECONDS, default 25); a
// failure prints the seed, the shrunk command list and the command that replays it.
import { canMakeClusters } from "./cluster.ts";
import { openEnv, runModel } from "./run.ts";
import { switchesOn } from "./known_bugs.ts";

const budget = Number(Deno.env.get("MODEL_BUDGET_SECONDS") ?? 25);

Deno.test({
  name: "model: random command sequences agree with the reference model after every step",
  ignore: !canMakeClusters(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const env = await openEnv();
    try {
      const seed = Deno.env.get("MODEL_SEED") ? Number(Deno.env.get("MODEL_SEED")) : undefined;
      const report = await runModel(env, { seed, timeLimitMs: budget * 1000 });
      console.log(`model: seed ${report.seed}, ${report.runs} runs, ${report.commands} commands (${report.calls} calls, ` +
        `${report.parallel} at once, ${report.http} over HTTP), ${report.states.size} distinct states; ` +
        `known-bug switches on: ${switchesOn().join(", ") || "none"}`);
      if (report.failure) throw new Error(`${report.failure}\nreplay: ${report.replay}`);
    } finally {
      await env.close();
    }
  },
});
