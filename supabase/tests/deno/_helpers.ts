// Shared helpers for the Deno tests: the test database and functions served on ephemeral ports.
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
