// Statements paged while new entries arrive, over real connections (TEST_DB_URL).
//
// A reader pages through a user's statement with a small page size while writers keep adding
// entries for that user (single usages, and transactions that write several entries at once,
// which share one created_at). After each page the reader waits until a writer has committed
// something new, so every page boundary really has new entries behind it (no sleeps). The
// pages, one after another, must be one unbroken stretch of the balance chain (each entry
// starts where the older one ended): a skipped entry would break it, a repeated one would show
// up twice; and every entry that existed when the reader started must be in them exactly once.
import assert from "node:assert/strict";
import { connect, type Sql } from "./_helpers.ts";

type Entry = { entry_id: string; tokens: number; balance_before: number; balance_after: number };
type Page = { entries: Entry[]; next_cursor: string | null };

async function page(sql: Sql, user: string, cursor: string | null, limit: number): Promise<Page> {
  const [row] = await sql`
    select public.get_token_statement(p_user_id => ${user}::uuid, p_limit => ${limit}, p_cursor => ${cursor}) as r`;
  return row.r as Page;
}

Deno.test("statement: pages never skip or repeat an entry while new entries arrive", async () => {
  const sql = connect(8);
  try {
    const user = crypto.randomUUID();
    await sql`insert into auth.users (id, email) values (${user}::uuid, ${`${user}@statement.test`})`;
    await sql`select public.grant_tokens(${user}::uuid, 1000000, 'admin_grant', ${`paging-grant:${user}`})`;
    for (let i = 0; i < 60; i++) {
      await sql`select public.record_usage('chat', ${1 + (i % 5)}, ${`paging-before:${i}`}, ${user}::uuid)`;
    }
    const before = (await page(sql, user, null, 1000)).entries.map((e) => e.entry_id);
    assert.equal(before.length, 61);

    // Writers: until the reader is done, commit one usage, or three usages in one transaction.
    let done = false;
    let commits = 0;
    let wake: (() => void) | null = null;
    const writer = async (w: number) => {
      for (let i = 0; !done; i++) {
        if (i % 2 === 0) {
          await sql`select public.record_usage('chat', 1, ${`paging-during:${w}:${i}`}, ${user}::uuid)`;
        } else {
          await sql.begin(async (tx) => {
            for (let j = 0; j < 3; j++) {
              await tx`select public.record_usage('chat', 2, ${`paging-during:${w}:${i}:${j}`}, ${user}::uuid)`;
            }
          });
        }
        commits++;
        wake?.();
      }
    };
    const nextCommit = (seen: number) =>
      new Promise<void>((resolve) => {
        if (commits > seen) return resolve();
        wake = () => {
          if (commits > seen) {
            wake = null;
            resolve();
          }
        };
      });

    const reader = async () => {
      const seen: Entry[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const at = commits;
        const p: Page = await page(sql, user, cursor, 4);
        seen.push(...p.entries);
        cursor = p.next_cursor;
        pages++;
        if (cursor) await nextCommit(at); // new entries arrive before the next page
      } while (cursor);
      done = true;
      return { seen, pages };
    };
    const [{ seen, pages }] = await Promise.all([reader(), writer(1), writer(2), writer(3)]);

    assert.ok(pages >= 16, `pages: ${pages}`);
    assert.ok(commits >= pages - 1, `writers committed ${commits} times over ${pages} pages`);
    const ids = seen.map((e) => e.entry_id);
    assert.equal(new Set(ids).size, ids.length, "an entry was repeated");
    for (let i = 0; i + 1 < seen.length; i++) {
      assert.equal(seen[i].balance_before, seen[i + 1].balance_after, `chain broken between pages at ${i}`);
      assert.equal(seen[i].balance_after, seen[i].balance_before + seen[i].tokens);
    }
    assert.equal(seen.at(-1)!.balance_before, 0, "the pages reach the first entry");
    assert.deepEqual(ids.slice(-before.length), before, "every earlier entry, once, in order");
    // Entries written after a page was read sit above it (newer): later pages never see them.
    const [{ n }] =
      await sql`select count(*)::int as n from public.token_usage where user_id = ${user}::uuid`;
    assert.ok(n > seen.length - 1, "entries arrived while paging");
  } finally {
    await sql.end();
  }
});
