-- Local development data. Applied by `npm start`, `npm run db:reset` and `supabase db reset`.

-- Token packs sold through Stripe Checkout (price ids of the local/test Stripe account).
insert into public.token_packs (id, stripe_price_id, name, tokens) values
  ('pack_small', 'price_pack_small', 'Small pack', 100000),
  ('pack_medium', 'price_pack_medium', 'Medium pack', 500000),
  ('pack_large', 'price_pack_large', 'Large pack', 2000000)
on conflict (id) do nothing;

-- The default subscription plan: 375,000 tokens every 28 days, unused drip tokens roll over
-- for one cycle, no cap. And an annual plan granted up front per paid annual invoice.
insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens, drip_interval, max_rollover_cycles, max_rollover_tokens, annual_grant_tokens) values
  ('default', 'price_sub_monthly', 'Subscription (28-day drips)', 375000, interval '28 days', 1, null, null),
  ('annual', 'price_sub_annual', 'Annual subscription', 0, interval '28 days', 0, null, 4875000)
on conflict (id) do nothing;
