// Local stand-in for Supabase's edge runtime (`supabase functions serve` needs Docker).
// Serves every function under http://127.0.0.1:<port>/functions/v1/<name>, as Supabase does.
//
// Usage: deno run -A scripts/local/functions-serve.ts [--port 54321]

import { functionNames, type Handler, loadFunction } from "./load-function.ts";

const portArg = Deno.args.indexOf("--port");
const port = Number(portArg >= 0 ? Deno.args[portArg + 1] : Deno.env.get("API_PORT") ?? 54321);

const handlers = new Map<string, Handler>();
for (const name of functionNames()) handlers.set(name, await loadFunction(name));

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: () => {
    const urls = [...handlers.keys()].map((n) => `http://127.0.0.1:${port}/functions/v1/${n}`);
    console.log(`functions: ${urls.join(" ")}`);
  },
}, (req, info) => {
  const match = new URL(req.url).pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
  const handler = match ? handlers.get(match[1]) : undefined;
  if (!handler) return Response.json({ msg: "function not found" }, { status: 404 });
  return handler(req, info);
});
