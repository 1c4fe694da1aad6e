// Creating Stripe Checkout Sessions the way the stripe-webhook function expects them (see
// docs/stripe.md), with stripe-node, on your server (the secret key never reaches a browser).
// `npm test` runs both against a stand-in for Stripe's API and then delivers the events Stripe
// would send for the sessions, signed, to the webhook (supabase/tests/deno/docs_examples.test.ts).
import Stripe from "stripe";
import type { Database } from "../../supabase/types/database.types.ts";

type TokenPack = Database["public"]["Tables"]["token_packs"]["Row"];
type SubscriptionPlan = Database["public"]["Tables"]["subscription_plans"]["Row"];

// A token pack, bought once. The webhook grants token_packs.tokens to the user in
// client_reference_id when the payment has arrived; the amount paid (amount_total) is kept
// for refunds. The charge carries pack_id and user_id too (payment_intent_data.metadata),
// so a refund or dispute that reaches the webhook before the purchase is retried, not lost.
export async function packCheckout(
  stripe: Stripe,
  userId: string,
  pack: TokenPack,
  appUrl: string,
): Promise<string> {
  if (!pack.stripe_price_id) throw new Error(`token pack ${pack.id} has no Stripe price`);
  const session = await stripe.checkout.sessions.create({
    mode: "payment",
    line_items: [{ price: pack.stripe_price_id, quantity: 1 }], // one pack per session
    client_reference_id: userId,
    metadata: { pack_id: pack.id },
    payment_intent_data: { metadata: { pack_id: pack.id, user_id: userId } },
    success_url: `${appUrl}/billing/success?session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${appUrl}/billing`,
  });
  if (!session.url) throw new Error("Stripe returned no Checkout URL");
  return session.url;
}

// A subscription. checkout.session.completed links the Stripe customer to the user; the
// subscription's own events find the user in subscription_data.metadata.user_id, whichever
// event arrives first. The plan is the subscription_plans row of the item's price.
export async function subscriptionCheckout(
  stripe: Stripe,
  userId: string,
  plan: SubscriptionPlan,
  appUrl: string,
  stripeCustomerId?: string, // from public.stripe_customers, when the user subscribed before
): Promise<string> {
  if (!plan.stripe_price_id) throw new Error(`plan ${plan.id} has no Stripe price`);
  const session = await stripe.checkout.sessions.create({
    mode: "subscription",
    line_items: [{ price: plan.stripe_price_id, quantity: 1 }],
    client_reference_id: userId,
    customer: stripeCustomerId,
    subscription_data: { metadata: { user_id: userId } },
    success_url: `${appUrl}/billing/success?session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${appUrl}/billing`,
  });
  if (!session.url) throw new Error("Stripe returned no Checkout URL");
  return session.url;
}
