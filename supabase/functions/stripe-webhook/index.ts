// Stripe webhook: verifies the Stripe signature, then hands the event to one database call,
// `public.handle_stripe_event`, which records it and applies its effect in one transaction.
// All the logic lives in handler.ts; this file only starts it, as Supabase expects.
import { handler } from "./handler.ts";

Deno.serve(handler);
