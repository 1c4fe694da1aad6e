// An Edge Function that delivers low-balance alerts from the outbox (public.token_alerts):
// deploy it (`supabase functions deploy deliver-token-alerts`) and call it every minute from
// pg_cron with pg_net, or from any scheduler. `npm test` runs deliverOnce against the test API
// with a receiver of its own (supabase/tests/deno/docs_examples.test.ts).
//
// It claims a batch (other runs skip the claimed rows for the lease), sends each alert, and
// marks the sent ones delivered. An alert that fails to send is not marked: its lease runs
// out and a later run claims it again (attempts counts the tries). Delivery is therefore at
// least once: make the receiver idempotent by the alert id.
import { type LedgerClient, serviceClient } from "./client.ts";

/** One batch: claim, send each to `target` (your mailer, Slack, a push service... here a JSON webhook), mark the sent ones. */
export async function deliverOnce(
  supabase: LedgerClient,
  target: string,
  batch = 100,
): Promise<{ sent: number; failed: number }> {
  const { data: alerts, error } = await supabase.rpc("claim_token_alerts", {
    p_limit: batch,
    p_lease_seconds: 60,
  });
  if (error) throw error;
  const sent: string[] = [];
  let failed = 0;
  for (const alert of alerts ?? []) {
    const response = await fetch(target, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": alert.id },
      body: JSON.stringify({
        user_id: alert.user_id,
        threshold: alert.threshold,
        available: alert.available_after,
        at: alert.created_at,
      }),
    });
    if (response.ok) sent.push(alert.id);
    else failed++;
    await response.body?.cancel();
  }
  if (sent.length > 0) {
    const { error: markError } = await supabase.rpc("mark_token_alerts_delivered", { p_alert_ids: sent });
    if (markError) throw markError;
  }
  return { sent: sent.length, failed };
}

/** The function: the service key and the target from the function's secrets. */
export function serve() {
  const supabase = serviceClient();
  const target = Deno.env.get("TOKEN_ALERTS_WEBHOOK_URL") ?? "";
  Deno.serve(async () => Response.json(await deliverOnce(supabase, target)));
}
