-- get_token_balance reports the live view: balance (live lots minus debt), debt, the lots
-- that still hold tokens in burn order, and the next expiry. Lapsed lots do not count even
-- before a sweep, and reading writes nothing.
begin;
select plan(14);

select tests.create_users('gb-shape', '00000000-0000-4000-8401-000000000001', '00000000-0000-4000-8401-000000000002');

select public.grant_tokens('00000000-0000-4000-8401-000000000001', 100, 'admin_grant', 'gb-shape-perm');
select public.grant_tokens('00000000-0000-4000-8401-000000000001', 30, 'subscription_grant', 'gb-shape-28d', null, now() + interval '28 days');
select public.grant_tokens('00000000-0000-4000-8401-000000000001', 20, 'trial_grant', 'gb-shape-7d', null, now() + interval '7 days');
select public.grant_tokens('00000000-0000-4000-8401-000000000001', 5, 'trial_grant', 'gb-shape-3d', null, now() + interval '3 days');
-- 10 spent: the 3-day lot is emptied, the 7-day lot keeps 15
select public.record_usage('chat', 10, 'gb-shape-use', '00000000-0000-4000-8401-000000000001');
-- a lot of 40 that has lapsed but was not swept yet
select public.grant_tokens('00000000-0000-4000-8401-000000000001', 40, 'trial_grant', 'gb-shape-lapsed', null, now() + interval '1 day');
update public.token_lots l set expires_at = now() - interval '1 hour'
  from public.token_transactions t where t.id = l.transaction_id and t.idempotency_key = 'gb-shape-lapsed';

select tests.authenticate_as('00000000-0000-4000-8401-000000000001');
select set_config('test.r', public.get_token_balance()::text, true);
select tests.clear_authentication();

select ok(
  current_setting('test.r')::jsonb ?& array['user_id', 'balance', 'debt', 'lots', 'next_expiry'],
  'the result has the documented keys');
select is(current_setting('test.r')::jsonb ->> 'user_id', '00000000-0000-4000-8401-000000000001', 'it names the user');
select is((current_setting('test.r')::jsonb ->> 'balance')::bigint, 145::bigint,
  'the balance counts live lots only (15 + 30 + 100; the lapsed 40 does not count)');
select is((current_setting('test.r')::jsonb ->> 'debt')::bigint, 0::bigint, 'no debt');
select is(
  (select jsonb_agg(jsonb_build_array(e ->> 'source', (e ->> 'remaining')::bigint, (e ->> 'expires_at')::timestamptz))
     from jsonb_array_elements(current_setting('test.r')::jsonb -> 'lots') e),
  jsonb_build_array(
    jsonb_build_array('trial_grant', 15, now() + interval '7 days'),
    jsonb_build_array('subscription_grant', 30, now() + interval '28 days'),
    jsonb_build_array('admin_grant', 100, null)),
  'the live lots that hold tokens, in burn order (soonest expiry first, permanent last)');
select is(
  (select array_agg(k order by k) from jsonb_array_elements(current_setting('test.r')::jsonb -> 'lots') e, jsonb_object_keys(e) k
    where e = (current_setting('test.r')::jsonb -> 'lots' -> 0)),
  array['expires_at', 'remaining', 'source'],
  'each lot has source, remaining and expires_at');
select is((current_setting('test.r')::jsonb ->> 'next_expiry')::timestamptz, now() + interval '7 days',
  'the next expiry is the soonest live expiry (not the lapsed lot''s)');

-- reading writes nothing: the lapsed lot is still unswept
select is(tests.balance_and_debt('00000000-0000-4000-8401-000000000001'), 'balance=185 debt=0',
  'the stored balance still counts the unswept lot');
select is(
  (select count(*)::int from public.token_transactions
    where user_id = '00000000-0000-4000-8401-000000000001' and transaction_type = 'expiration'),
  0, 'get_token_balance does not write expiration transactions');
select is(
  (select provolatile from pg_proc where oid = 'public.get_token_balance(uuid)'::regprocedure), 's',
  'get_token_balance is declared stable');

-- a user who never had tokens: zeros, no lots, no expiry, and no balance row is created
select tests.authenticate_as('00000000-0000-4000-8401-000000000002');
select set_config('test.empty', public.get_token_balance()::text, true);
select tests.clear_authentication();
select is(
  (select jsonb_object_agg(key, value) from jsonb_each(current_setting('test.empty')::jsonb)
    where key in ('user_id', 'balance', 'debt', 'lots', 'next_expiry')),
  '{"user_id":"00000000-0000-4000-8401-000000000002","balance":0,"debt":0,"lots":[],"next_expiry":null}'::jsonb,
  'a user without tokens gets zeros, no lots and a null next_expiry');
select is(tests.ledger_footprint('00000000-0000-4000-8401-000000000002'), 'none', 'reading creates no balance row');

-- once the lapsed lot has been swept, the stored and reported balances agree
select public.record_usage('chat', 1, 'gb-shape-use-2', '00000000-0000-4000-8401-000000000001');
select is((public.get_token_balance('00000000-0000-4000-8401-000000000001') ->> 'balance')::bigint,
  (select balance from public.token_balances where user_id = '00000000-0000-4000-8401-000000000001'),
  'after a sweep the reported balance is the stored balance');
select is((public.get_token_balance('00000000-0000-4000-8401-000000000001') ->> 'balance')::bigint, 144::bigint,
  'which is 145 minus the token just spent');

select * from finish();
rollback;
