import assert from "node:assert/strict";
import { serveFunction } from "./_helpers.ts";

Deno.test("health answers GET with ok and refuses other methods", async () => {
  const fn = await serveFunction("health");
  try {
    const ok = await fetch(fn.url);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).status, "ok");
    const post = await fetch(fn.url, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  } finally {
    await fn.close();
  }
});
