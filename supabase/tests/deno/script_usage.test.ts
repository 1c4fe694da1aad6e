// Operator scripts answer a wrong argument with their usage and a non-zero exit, before they
// touch a cluster: `npm run schema:dump -- --help` took --help for a database URL and printed
// pg_dump's error about a socket on port 5432.
import assert from "node:assert/strict";

const root = new URL("../../../", import.meta.url).pathname;

Deno.test("schema:dump: an argument that is not a postgres URL gets the usage", async () => {
  for (const args of [["--help"], ["--check", "not-a-url"]]) {
    const out = await new Deno.Command("bash", {
      args: ["scripts/schema-dump.sh", ...args],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.notEqual(out.code, 0);
    assert.match(stderr, /usage: npm run schema:dump/);
    assert.ok(!stderr.includes("pg_dump"), stderr);
  }
});
