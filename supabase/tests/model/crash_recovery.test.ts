// Crash recovery (issue 14): an immediate shutdown while clients stream calls and a drip batch
// runs, and pg_terminate_backend at random points of a drip batch and of a settle; see crash.ts.
// `npm test` runs one round with a new seed (printed); `npm run test:crash -- --repeat 10` runs
// ten in a row.
import { canMakeClusters } from "./cluster.ts";
import { crashRound } from "./crash.ts";

Deno.test({
  name:
    "crash: acknowledged calls survive an immediate shutdown exactly once, nothing half-applied, drips complete once",
  ignore: !canMakeClusters(),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const seed = Number(Deno.env.get("CRASH_SEED") ?? ((Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0));
    const r = await crashRound({ seed, subscriptions: Number(Deno.env.get("CRASH_SUBSCRIPTIONS") ?? 1500) });
    console.log(
      `crash: seed ${seed}, ${r.acked} acknowledged and ${r.unacked} unacknowledged calls, ${r.cycles} drip cycles`,
    );
    if (r.problems.length) {
      throw new Error(`crash round, seed ${seed} (CRASH_SEED=${seed} replays it):\n${r.problems.join("\n")}`);
    }
  },
});
