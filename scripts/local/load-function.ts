// Loads a Supabase Edge Function (supabase/functions/<name>/index.ts) without starting it:
// the function calls `Deno.serve(handler)` as it would on Supabase; we swap `Deno.serve` for
// a recorder while importing it and hand back the handler. Used by the local functions server
// and by the Deno tests, which serve the handler on an ephemeral port.

import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type Handler = (req: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;

export const functionsDir = join(fileURLToPath(new URL("../../", import.meta.url)), "supabase", "functions");

export async function loadFunction(name: string): Promise<Handler> {
  const realServe = Deno.serve;
  let captured: Handler | undefined;
  // deno-lint-ignore no-explicit-any
  (Deno as any).serve = (...args: unknown[]) => {
    const options = args.find((a) => typeof a === "object" && a !== null) as { handler?: Handler } | undefined;
    captured = (args.find((a) => typeof a === "function") as Handler | undefined) ?? options?.handler;
    return { finished: Promise.resolve(), shutdown: async () => {}, ref() {}, unref() {}, addr: { port: 0 } };
  };
  try {
    await import(`file://${join(functionsDir, name, "index.ts")}`);
  } finally {
    // deno-lint-ignore no-explicit-any
    (Deno as any).serve = realServe;
  }
  if (!captured) throw new Error(`function ${name} did not call Deno.serve`);
  return captured;
}

/** Every function folder with an index.ts; folders starting with _ are shared code. */
export function functionNames(): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(functionsDir)) {
    if (!entry.isDirectory || entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    try {
      Deno.statSync(join(functionsDir, entry.name, "index.ts"));
      names.push(entry.name);
    } catch {
      // not a function
    }
  }
  return names.sort();
}
