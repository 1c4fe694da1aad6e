// Shared helpers for the Deno tests: the test database and functions served on ephemeral ports.
import assert from "node:assert/strict";
import postgres from "postgres";
import { type Handler, loadFunction } from "../../../scripts/local/load-function.ts";

export const testDbUrl = Deno.env.get("TEST_DB_URL") ?? Deno.env.get("SUPABASE_DB_URL") ??
  "postgresql://postgres:postgres@127.0.0.1:54330/postgres?sslmode=disable";

/** A connection pool to the test database; close it with `await sql.end()`. */
export function connect(max = 10) {
  return postgres(testDbUrl, { max, prepare: false, onnotice: () => {} });
}

// A function module runs (and calls Deno.serve) only on its first import in a process, so each
// handler is loaded once and reused by every serveFunction call.
const handlers = new Map<string, Promise<Handler>>();

/** Serves function `name` on 127.0.0.1 with an ephemeral port. */
export async function serveFunction(name: string, env: Record<string, string> = {}) {
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  if (!handlers.has(name)) handlers.set(name, loadFunction(name));
  const handler = await handlers.get(name)!;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const url = `http://127.0.0.1:${server.addr.port}/functions/v1/${name}`;
  return { url, close: () => server.shutdown() };
}

export type Sql = ReturnType<typeof connect>;

/** A Deno test with a pool of `max` connections to the test database, closed when it ends. */
export function dbTest(name: string, max: number, fn: (sql: Sql) => Promise<void>) {
  Deno.test(name, async () => {
    const sql = connect(max);
    try {
      await fn(sql);
    } finally {
      await sql.end();
    }
  });
}

/**
 * User `userId` spends `tokens` of feature chat under `key` through `rpc` (record_usage or
 * reserve_tokens), called by whoever `tx` acts as (the service in `concurrently`): its result.
 */
export async function spend<T>(
  tx: Sql,
  rpc: "record_usage" | "reserve_tokens",
  userId: string,
  tokens: number,
  key: string,
): Promise<T> {
  const [row] = await tx`
    select ${tx(`public.${rpc}`)}(
      p_feature => 'chat', p_tokens => ${tokens}::bigint, p_idempotency_key => ${key},
      p_user_id => ${userId}::uuid) as r`;
  return row.r as T;
}

/** Act, until the transaction `tx` ends, as PostgREST does for a request made with the service key. */
export async function actAsService(tx: Sql) {
  await tx`set local role service_role`;
  await tx`select set_config('request.jwt.claims', '{"role":"service_role"}', true)`;
}

/** What one concurrent call came to: its value, or the SQLSTATE that refused it. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string; message: string };

/** `n` clients, all holding an open transaction before any of them calls (also the model suite's). */
export function barrier(n: number) {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return async () => {
    if (++arrived === n) release();
    await all;
  };
}

/**
 * Runs `calls` at once, each in its own transaction as service_role (as PostgREST sends a
 * request with the service key). The clients first open their transactions and wait until all
 * are open, so the calls really overlap, without sleeps. A refused call rolls its transaction
 * back and becomes `{ ok: false, code }`.
 */
export async function concurrently<T>(sql: Sql, calls: ((tx: Sql) => Promise<T>)[]): Promise<Outcome<T>[]> {
  const ready = barrier(calls.length);
  const backends = new Set<number>();
  const outcomes = await Promise.all(calls.map(async (call): Promise<Outcome<T>> => {
    try {
      const value = await sql.begin(async (tx) => {
        try {
          const [{ pid }] = await tx`select pg_backend_pid() as pid`;
          backends.add(pid);
          await actAsService(tx as unknown as Sql);
        } finally {
          await ready(); // never leave the others waiting, even if this client failed
        }
        return await call(tx as unknown as Sql);
      });
      return { ok: true, value: value as T };
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (!err.code) throw e;
      return { ok: false, code: err.code, message: err.message ?? "" };
    }
  }));
  // Every client had its own server session, all open at the same time.
  assert.equal(backends.size, calls.length, "clients shared a connection");
  return outcomes;
}
