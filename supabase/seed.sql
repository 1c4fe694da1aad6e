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

-- Sign-up trials stay off, as the migrations leave them (ledger_settings.trial_tokens = 0), so
-- the users below get no trial; to give every new user one (docs/api.md#sign-up-trials):
--   select public.update_ledger_settings('{"trial_tokens": 50000, "trial_lifetime": "14 days"}');

-- People to try the API with (local only; with `npm run token -- <email>` for their tokens).
--   demo@example.test        00000000-0000-4000-a000-0000000000f1  the buyer of the Stripe fixtures
--                            (`npm run stripe:send -- checkout_session_completed_payment` buys
--                            pack_small for this user); 50,000 welcome tokens, one chat
--   subscriber@example.test  00000000-0000-4000-a000-0000000000f2  the subscriber of the Stripe
--                            fixtures (customer_subscription_created, invoice_paid_...); no tokens yet
--   admin@example.test       00000000-0000-4000-a000-0000000000ad  an admin (app_metadata.role =
--                            'admin'): a start grant, some usage, a streamed chat settled from a hold,
--                            and the demo user's welcome grant
-- Everything goes through the RPCs with keys of its own, so running the seed again changes
-- nothing. Nothing here expires, holds on or drips, so the scheduled jobs find nothing to do.
insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data) values
  ('00000000-0000-4000-a000-0000000000f1', 'authenticated', 'authenticated', 'demo@example.test', now(),
   '{"provider": "email", "providers": ["email"]}', '{"name": "Demo user"}'),
  ('00000000-0000-4000-a000-0000000000f2', 'authenticated', 'authenticated', 'subscriber@example.test', now(),
   '{"provider": "email", "providers": ["email"]}', '{"name": "Subscriber"}'),
  ('00000000-0000-4000-a000-0000000000ad', 'authenticated', 'authenticated', 'admin@example.test', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{"name": "Admin"}')
on conflict (id) do nothing;

do $$
declare
  v_admin constant uuid := '00000000-0000-4000-a000-0000000000ad';
  v_demo constant uuid := '00000000-0000-4000-a000-0000000000f1';
  v_hold jsonb;
begin
  -- As the service (this session): the admin's start, their usage and a streamed chat.
  perform public.grant_tokens(v_admin, 1000000, 'admin_grant', 'seed:admin-start', 'seed');
  perform public.record_usage('chat', 12000, 'seed:admin-chat-1', v_admin, 'gpt-4o-mini');
  perform public.record_usage('image_generation', 40000, 'seed:admin-image-1', v_admin, 'image-model');
  v_hold := public.reserve_tokens('chat', 5000, 'seed:admin-stream-1', v_admin, 600);
  perform public.settle_hold((v_hold ->> 'hold_id')::uuid, 3100, 'gpt-4o-mini', '{"streamed": true}');

  -- As the admin, the way PostgREST runs a request with their token: the welcome grant
  -- records the admin as its actor.
  perform set_config('request.jwt.claims', json_build_object(
    'sub', v_admin, 'role', 'authenticated', 'email', 'admin@example.test',
    'app_metadata', json_build_object('role', 'admin'))::text, true);
  set local role authenticated;
  perform public.grant_tokens(v_demo, 50000, 'admin_grant', 'seed:demo-welcome', 'welcome');
  reset role;
  perform set_config('request.jwt.claims', '', true);

  perform public.record_usage('chat', 1200, 'seed:demo-chat-1', v_demo, 'gpt-4o-mini');
end
$$;
