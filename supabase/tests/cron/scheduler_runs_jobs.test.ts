// pg_cron's real scheduler runs jobs in the test database (issue 9 item 3): a scheduler that
// cannot connect (every run `failed: connection failed`) must fail `npm test`.
//
// pg_cron 1.4 has no seconds schedules, so the probe is a minutely job and the test waits for
// the scheduler, bounded. To keep `npm test` short, scripts/test.sh schedules the probe right
// after the database is built and runs this file last: by then the minute has usually passed.
// Run alone, the test schedules the probe itself. Either way it unschedules it at the end.
import assert from "node:assert/strict";
import { connect } from "../deno/_helpers.ts";

export const PROBE = "npm-test-cron-probe";
const WAIT_MS = 75_000; // one minute boundary, plus the scheduler's start-up and the run itself

Deno.test("pg_cron runs a scheduled job through its own connection, and it succeeds", async () => {
  const sql = connect(1);
  try {
    let [job] = await sql`select jobid from cron.job where jobname = ${PROBE}`;
    if (!job) [job] = await sql`select cron.schedule(${PROBE}, '* * * * *', 'select 1') as jobid`;
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const runs =
        await sql`select status, return_message from cron.job_run_details where jobid = ${job.jobid}`;
      if (runs.some((r) => r.status === "succeeded")) break;
      const failed = runs.find((r) => r.status === "failed");
      assert.ok(!failed, `the probe's run failed: ${failed?.return_message}`);
      assert.ok(Date.now() < deadline, `no run of the minutely probe within ${WAIT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 1000)); // polls the real scheduler; nothing to compute instead
    }
  } finally {
    await sql`select cron.unschedule(jobid) from cron.job where jobname = ${PROBE}`;
    await sql.end();
  }
});

Deno.test("no run of the migrations' own jobs has failed so far", async () => {
  const sql = connect(1);
  try {
    const failed = await sql`
      select j.jobname, d.return_message from cron.job_run_details d join cron.job j using (jobid)
       where d.status = 'failed' and j.jobname <> ${PROBE}`;
    assert.deepEqual(failed.map((r) => `${r.jobname}: ${r.return_message}`), []);
  } finally {
    await sql.end();
  }
});
