// Liveness probe for the functions server: answers without touching the database.
Deno.serve((req) => {
  if (req.method !== "GET") return new Response("method not allowed", { status: 405 });
  return Response.json({ status: "ok", service: "token-ledger" });
});
