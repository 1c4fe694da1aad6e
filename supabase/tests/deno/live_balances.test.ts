// The live-balances migration adds token_balances to the supabase_realtime publication where
// that publication exists (every Supabase database) and still applies on a plain Postgres
// without it. Both cases, and applying it twice, run here against the test database in one
// transaction that is rolled back, as `postgres` (the publication's owner, as on Supabase).
// pgTAP (supabase/tests/database/realtime) checks the membership the migrations left.
import assert from "node:assert/strict";
import { connect } from "./_helpers.ts";

const migration = Deno.readTextFileSync(
  new URL("../../migrations/20261128210000_live_balances.sql", import.meta.url),
);

Deno.test("the live-balances migration applies without the publication and publishes token_balances with it", async () => {
  const sql = connect(1);
  const rollback = new Error("rollback");
  try {
    await sql.begin(async (tx) => {
      const published = () =>
        tx`select pt.tablename from pg_publication_tables pt
            where pt.pubname = 'supabase_realtime' and pt.schemaname = 'public' and pt.tablename = 'token_balances'`.then((rows) =>
          rows.map((r) => r.tablename)
        );
      assert.deepEqual(await published(), ["token_balances"], "the migrations published token_balances");

      // A plain Postgres: no publication. The migration applies and creates nothing.
      await tx`drop publication supabase_realtime`;
      await tx.unsafe(migration);
      const [{ n }] =
        await tx`select count(*)::int as n from pg_publication where pubname = 'supabase_realtime'`;
      assert.equal(n, 0, "without the publication the migration creates none");

      // Supabase: the platform's empty publication. The migration adds the table, once.
      await tx`create publication supabase_realtime with (publish = 'insert, update, delete, truncate')`;
      await tx.unsafe(migration);
      assert.deepEqual(await published(), ["token_balances"]);
      await tx.unsafe(migration);
      assert.deepEqual(await published(), ["token_balances"], "applying it again changes nothing");
      throw rollback;
    });
  } catch (e) {
    if (e !== rollback) throw e;
  } finally {
    await sql.end();
  }
});
