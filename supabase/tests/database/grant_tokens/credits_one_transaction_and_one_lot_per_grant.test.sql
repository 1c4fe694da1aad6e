-- grant_tokens, happy path: each grant type credits the balance through one transaction row
-- and one lot (with the grant's expiry), and the returned JSON describes the transaction.
begin;
select plan(15);

select tests.create_user('gt-happy-alice@example.test', '00000000-0000-4000-8201-000000000001');

select tests.authenticate_as_service_role();
select set_config('test.g1', public.grant_tokens('00000000-0000-4000-8201-000000000001', 100, 'admin_grant', 'gt-happy-1',
  null, null, '{"reason":"welcome"}')::text, true);
select set_config('test.g2', public.grant_tokens('00000000-0000-4000-8201-000000000001', 50, 'subscription_grant', 'gt-happy-2',
  'sub_123', now() + interval '28 days')::text, true);
select set_config('test.g3', public.grant_tokens('00000000-0000-4000-8201-000000000001', 25, 'trial_grant', 'gt-happy-3',
  null, now() + interval '7 days')::text, true);
select tests.clear_authentication();

select is(current_setting('test.g1')::jsonb - 'transaction_id',
  '{"user_id":"00000000-0000-4000-8201-000000000001","transaction_type":"admin_grant","token_amount":100,
    "balance_before":0,"balance_after":100,"replayed":false}'::jsonb,
  'the result describes the grant');
select is(
  (select array_agg(k order by k) from jsonb_object_keys(current_setting('test.g1')::jsonb) k),
  array['balance_after', 'balance_before', 'replayed', 'token_amount', 'transaction_id', 'transaction_type', 'user_id'],
  'the result has exactly the documented keys');
select results_eq(
  $$select transaction_type, token_amount, balance_before, balance_after, source, actor_id, expires_at, metadata, is_legacy
      from public.token_transactions where id = (current_setting('test.g1')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('admin_grant'::text, 100::bigint, 0::bigint, 100::bigint, 'service'::text, null::uuid, null::timestamptz,
            '{"reason":"welcome"}'::jsonb, false)$$,
  'the transaction row: type, amount, balances, source (the caller kind), no actor, no expiry, metadata');
select results_eq(
  $$select user_id, source, original, remaining, expires_at from public.token_lots
     where transaction_id = (current_setting('test.g1')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('00000000-0000-4000-8201-000000000001'::uuid, 'admin_grant'::text, 100::bigint, 100::bigint, null::timestamptz)$$,
  'the grant made a permanent lot of its tokens');

select is((current_setting('test.g2')::jsonb ->> 'balance_before')::bigint, 100::bigint, 'the second grant starts at 100');
select is((current_setting('test.g2')::jsonb ->> 'balance_after')::bigint, 150::bigint, 'and ends at 150');
select is(current_setting('test.g2')::jsonb ->> 'transaction_type', 'subscription_grant', 'a subscription grant');
select results_eq(
  $$select source, expires_at from public.token_transactions where id = (current_setting('test.g2')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('sub_123'::text, now() + interval '28 days')$$,
  'p_source and p_expires_at are recorded on the transaction');
select results_eq(
  $$select source, original, remaining, expires_at from public.token_lots
     where transaction_id = (current_setting('test.g2')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('subscription_grant'::text, 50::bigint, 50::bigint, now() + interval '28 days')$$,
  'the lot expires when the grant says');

select is(current_setting('test.g3')::jsonb ->> 'transaction_type', 'trial_grant', 'a trial grant');
select is((current_setting('test.g3')::jsonb ->> 'balance_after')::bigint, 175::bigint, 'ends at 175');
select results_eq(
  $$select source, original, remaining, expires_at from public.token_lots
     where transaction_id = (current_setting('test.g3')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('trial_grant'::text, 25::bigint, 25::bigint, now() + interval '7 days')$$,
  'the trial lot expires in 7 days');

select is(tests.ledger_footprint('00000000-0000-4000-8201-000000000001'), 'balance=175 lots=3 remaining=175 transactions=3',
  'the stored balance is the sum of the grants: one transaction and one lot per grant');
select is(
  (public.get_token_balance('00000000-0000-4000-8201-000000000001') ->> 'next_expiry')::timestamptz,
  now() + interval '7 days', 'the next expiry is the trial''s');
select is_empty(
  $$select * from public.verify_token_ledger('00000000-0000-4000-8201-000000000001')$$,
  'the ledger is consistent');

select * from finish();
rollback;
