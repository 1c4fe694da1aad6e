// npm test's import-pins check: every supabase/functions/*/deno.json (which the edge runtime
// reads instead of the root deno.json) pins each import exactly as the root deno.json does,
// so the functions run in production with the versions the tests ran with.
const root = JSON.parse(await Deno.readTextFile("deno.json")).imports as Record<string, string>;
let bad = 0;
for await (const dir of Deno.readDir("supabase/functions")) {
  const path = `supabase/functions/${dir.name}/deno.json`;
  let imports: Record<string, string>;
  try {
    imports = JSON.parse(await Deno.readTextFile(path)).imports ?? {};
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) continue;
    throw e;
  }
  for (const [name, specifier] of Object.entries(imports)) {
    if (root[name] !== specifier) {
      console.error(`${path}: "${name}": "${specifier}", but deno.json has ${JSON.stringify(root[name] ?? null)}`);
      bad++;
    }
  }
  console.log(`${path}: ${Object.keys(imports).length} imports checked`);
}
if (bad > 0) {
  console.error("Pin each import in supabase/functions/*/deno.json exactly as in the root deno.json.");
  Deno.exit(1);
}
