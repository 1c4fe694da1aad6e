// The PostgREST contract of the API (docs/api.md): in the schemas PostgREST exposes
// (config.toml [api].schemas) no function name is overloaded, since PostgREST cannot choose
// between two signatures of one name; every RPC takes named `p_` parameters; and the OpenAPI
// document at /rest/v1/ lists every public RPC and table a caller may use, with the RPC's
// parameters, and nothing else: nothing from `private`. A migration that breaks any of it
// fails here, on the database the migrations built and the PostgREST serving it.
import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { connect, type Sql } from "./_helpers.ts";
import { api, signUp } from "./_api.ts";

const config = parse(Deno.readTextFileSync(new URL("../../config.toml", import.meta.url))) as {
  api: { schemas: string[] };
};
const exposed = config.api.schemas;

/** Function names with more than one signature in the exposed schemas. */
async function overloads(sql: Sql): Promise<string[]> {
  const rows = await sql`
    select format('%s.%s (%s signatures)', n.nspname, p.proname, count(*)) as name
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where n.nspname = any(${exposed}::text[])
     group by n.nspname, p.proname having count(*) > 1 order by 1`;
  return rows.map((r) => r.name);
}

Deno.test("no function name is overloaded in an exposed schema", async () => {
  const sql = connect(1);
  try {
    assert.deepEqual(exposed.includes("private"), false, "the private schema is never exposed");
    assert.deepEqual(await overloads(sql), []);
    // The check sees an overload as a migration would add it.
    const rollback = new Error("rollback");
    await sql.begin(async (tx) => {
      await tx`create function public.get_token_balance(p_user_email text) returns jsonb language sql as 'select null::jsonb'`;
      assert.deepEqual(await overloads(tx as unknown as Sql), ["public.get_token_balance (2 signatures)"]);
      throw rollback;
    }).catch((e) => {
      if (e !== rollback) throw e;
    });
  } finally {
    await sql.end();
  }
});

Deno.test("every RPC takes named p_ parameters only", async () => {
  const sql = connect(1);
  try {
    const rows = await sql`
      select p.proname::text as name, coalesce(p.proargnames, '{}') as args, p.pronargs as n,
             coalesce(array_length(p.proargmodes, 1), 0) as modes
        from pg_proc p
       where p.pronamespace = 'public'::regnamespace and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype`;
    const bad = rows.filter((r) => {
      // proargnames also names OUT/TABLE columns (verify_token_ledger); the inputs come first.
      const inputs = (r.args as string[]).slice(0, r.n);
      return inputs.length !== r.n || inputs.some((a) => !/^p_[a-z0-9_]+$/.test(a));
    }).map((r) => `${r.name}(${r.args})`);
    assert.deepEqual(bad, []);
  } finally {
    await sql.end();
  }
});

/** What the catalog says `role` may reach in public: RPCs it may execute, tables it may select. */
async function reachable(sql: Sql, role: string) {
  const rpcs = await sql`
    select p.proname::text as name, (p.proargnames)[1:p.pronargs] as args from pg_proc p
     where p.pronamespace = 'public'::regnamespace and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype
       and has_function_privilege(${role}, p.oid, 'execute')`;
  const tables = await sql`
    select c.relname::text as name from pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
       and has_table_privilege(${role}, c.oid, 'select')`;
  return {
    paths: ["/", ...rpcs.map((r) => `/rpc/${r.name}`), ...tables.map((t) => `/${t.name}`)].sort(),
    args: Object.fromEntries(rpcs.map((r) => [r.name, [...(r.args ?? [])].sort()])),
  };
}

type OpenApi = {
  info: { version: string };
  paths: Record<
    string,
    { post?: { parameters: { in: string; schema?: { properties?: Record<string, unknown> } }[] } }
  >;
  definitions?: Record<string, unknown>;
};

async function openApi(token: string): Promise<OpenApi> {
  const res = await fetch(`${api.url}/rest/v1/`, {
    headers: { apikey: api.anonKey, authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  return await res.json();
}

Deno.test("the OpenAPI document lists exactly the RPCs and tables each caller may use, with their parameters", async () => {
  const sql = connect(1);
  try {
    const user = await signUp();
    const callers: [string, string][] = [["anon", api.anonKey], ["authenticated", user.token], [
      "service_role",
      api.serviceRoleKey,
    ]];
    for (const [role, token] of callers) {
      const doc = await openApi(token);
      assert.equal(doc.info.version, "12.0.2", "PostgREST 12.0.2 serves it");
      const want = await reachable(sql, role);
      assert.deepEqual(Object.keys(doc.paths).sort(), want.paths, `${role}: the paths`);
      for (const [name, args] of Object.entries(want.args)) {
        const body = doc.paths[`/rpc/${name}`].post!.parameters.find((p) => p.in === "body");
        assert.deepEqual(
          Object.keys(body?.schema?.properties ?? {}).sort(),
          args,
          `${role}: ${name}'s parameters`,
        );
      }
    }
    // Every public RPC is in the service's document (the service may call each), nothing private.
    const service = await openApi(api.serviceRoleKey);
    const [{ names }] = await sql`
      select array_agg(p.proname::text order by p.proname) as names from pg_proc p
       where p.pronamespace = 'public'::regnamespace and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype`;
    assert.deepEqual(
      Object.keys(service.paths).filter((p) => p.startsWith("/rpc/")).map((p) => p.slice(5)).sort(),
      [...new Set(names as string[])].sort(),
    );
    const privateOnly = await sql`
      select c.relname::text as name from pg_class c
       where c.relnamespace = 'private'::regnamespace and c.relkind = 'r'
      union
      select p.proname::text from pg_proc p where p.pronamespace = 'private'::regnamespace
      except
      select p.proname::text from pg_proc p where p.pronamespace = 'public'::regnamespace`;
    // What the document exposes: its paths and its definitions (one per table or view).
    const exposedNames = new Set([
      ...Object.keys(service.paths).map((p) => p.replace(/^\/(rpc\/)?/, "")),
      ...Object.keys(service.definitions ?? {}),
    ]);
    assert.deepEqual(
      Object.keys(service.definitions ?? {}).sort(),
      Object.keys(service.paths).filter((p) => p !== "/" && !p.startsWith("/rpc/")).map((p) => p.slice(1)).sort(),
      "one definition per exposed table, no other",
    );
    const leaked = privateOnly.map((r) => r.name).filter((n) => exposedNames.has(n));
    assert.deepEqual(leaked, [], "nothing of private is named in the document");
  } finally {
    await sql.end();
  }
});
