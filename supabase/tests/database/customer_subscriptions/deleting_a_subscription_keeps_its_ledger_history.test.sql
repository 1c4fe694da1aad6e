-- The service may delete a subscription that has dripped. Its ledger history stays: the
-- token_drips rows forget the subscription (ON DELETE SET NULL, as the seed's DDL declares)
-- and keep their amounts, the drip lots keep their tokens, and the ledger still verifies. The
-- tokens left expire on schedule through expire_tokens.
begin;
select plan(6);
set local timezone to 'UTC';

select tests.freeze_other_lots();

select tests.create_dripping_subscriber('cs-delete@example.test', '00000000-0000-4000-d404-000000000001', '00000000-0000-4000-d404-0000000000a1', 2);

select tests.authenticate_as_service_role();
select lives_ok($$delete from public.customer_subscriptions where id = '00000000-0000-4000-d404-0000000000a1'$$,
  'service_role deletes a subscription that has dripped');
select tests.clear_authentication();

select results_eq(
  $$select cycle_number, subscription_id, drip_amount, balance_before, balance_after from public.token_drips
     where user_id = '00000000-0000-4000-d404-000000000001' order by cycle_number$$,
  $$values (1, null::uuid, 375000::bigint, 0::bigint, 375000::bigint), (2, null, 375000, 375000, 750000)$$,
  'its drip rows stay, without the subscription');
select results_eq(
  $$select remaining, expires_at from public.token_lots where user_id = '00000000-0000-4000-d404-000000000001' order by expires_at$$,
  $$values (375000::bigint, now() + interval '56 days'), (375000::bigint, now() + interval '84 days')$$,
  'its lots stay, with their tokens and expiry');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d404-000000000001')$$, 'the ledger is consistent');

select is(public.expire_tokens(now() + interval '56 days'), '{"users": 1, "tokens_expired": 375000}'::jsonb,
  'cycle 1''s tokens expire on schedule');
select is(tests.verified_balance('00000000-0000-4000-d404-000000000001'), 'balance=375000 debt=0', 'cycle 2''s remain; the ledger is still consistent');

select * from finish();
rollback;
