// The model suite's command line (npm run test:model / test:long / test:crash) answers --help
// with its usage and a wrong option with the usage and exit code 2, without touching a
// cluster (before this, `npm run test:long -- --help` died with parseArgs' stack trace).
import assert from "node:assert/strict";

async function cli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL("cli.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("model cli: --help prints the usage of test:model, test:long and test:crash", async () => {
  for (const args of [["--help"], ["--long", "--help"], ["-h"]]) {
    const r = await cli(...args);
    assert.equal(r.code, 0, r.stderr);
    for (const cmd of ["test:model", "test:long -- --minutes", "test:crash -- --repeat"]) {
      assert.ok(r.stdout.replace(/\[-- /g, "-- ").includes(cmd), `${cmd} in ${r.stdout}`);
    }
  }
});

Deno.test("model cli: an unknown option prints the usage and exits 2, without a stack trace", async () => {
  const r = await cli("--long", "--bogus");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown option '--bogus'/);
  assert.match(r.stderr, /usage:/);
  assert.ok(!r.stderr.includes("parseArgs ("), r.stderr);
});
