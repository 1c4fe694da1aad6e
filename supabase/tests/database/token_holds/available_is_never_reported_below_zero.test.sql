-- `available` is never reported below 0. When the tokens under active holds expire (or the
-- user is in debt), balance - held is negative; every place that reports what is available
-- says 0 instead: get_token_balance, release_hold's available_after, and the PT402 detail of
-- record_usage, reserve_tokens and settle_hold ("balance: <available>, ...").
-- (The lots lapsing is simulated by moving their expires_at back: lots are state, not ledger.)
begin;
select plan(9);

select tests.create_users('th-available', '00000000-0000-4000-c902-000000000001', '00000000-0000-4000-c902-000000000002');
select public.grant_tokens('00000000-0000-4000-c902-000000000001', 1000, 'admin_grant', 'c902-a', null, now() + interval '1 hour');
select public.grant_tokens('00000000-0000-4000-c902-000000000002', 1000, 'admin_grant', 'c902-b', null, now() + interval '1 hour');

select tests.authenticate_as('00000000-0000-4000-c902-000000000001');
select set_config('test.a1', public.reserve_tokens('chat', 800, 'c902-a1') ->> 'hold_id', true);
select set_config('test.a2', public.reserve_tokens('chat', 100, 'c902-a2', null, 60) ->> 'hold_id', true);
select tests.clear_authentication();
select set_config('test.b1', tests.reserve_as('00000000-0000-4000-c902-000000000002', 400, 'c902-b1')::text, true);
select set_config('test.b2', tests.reserve_as('00000000-0000-4000-c902-000000000002', 400, 'c902-b2')::text, true);
update public.token_lots set expires_at = now() - interval '1 second'
 where user_id::text like '00000000-0000-4000-c902-%';
-- alice's small hold lapses too, so a settle of it finds nothing available
select tests.lapse_hold(current_setting('test.a2')::uuid);

-- get_token_balance: the tokens expired, the hold of 800 is still active
select is(public.get_token_balance('00000000-0000-4000-c902-000000000001') - 'lots' - 'next_expiry' - 'next_drip_at' - 'user_id',
  '{"balance":0,"debt":0,"held":800,"available":0}'::jsonb,
  'get_token_balance reports available 0, not -800, when the held tokens expired');

-- the PT402 details
select tests.authenticate_as('00000000-0000-4000-c902-000000000001');
select is(tests.error_detail($$select public.record_usage('chat', 1, 'c902-usage')$$), 'balance: 0, required: 1',
  'record_usage''s PT402 says balance: 0');
select is(tests.error_detail($$select public.reserve_tokens('chat', 1, 'c902-a3')$$), 'balance: 0, required: 1',
  'reserve_tokens''s PT402 says balance: 0');
select alike(tests.error_detail(format('select public.settle_hold(%L, 1)', current_setting('test.a2'))),
  'balance: 0, required: 1, %', 'a lapsed settle''s PT402 says balance: 0');

-- release_hold: bob's tokens expired under two holds; releasing one leaves the other's 400
select tests.authenticate_as('00000000-0000-4000-c902-000000000002');
select is((public.release_hold(current_setting('test.b1')::uuid) ->> 'available_after')::bigint, 0::bigint,
  'release_hold reports available_after 0, not the expired tokens (600) or -400');
-- and in debt: bob settles the other hold, its 400 become debt
select is((public.settle_hold(current_setting('test.b2')::uuid, 400) ->> 'balance_after')::bigint, -400::bigint,
  'bob settles the other hold into debt');
select tests.clear_authentication();
select is(public.get_token_balance('00000000-0000-4000-c902-000000000002') - 'lots' - 'next_expiry' - 'next_drip_at' - 'user_id',
  '{"balance":-400,"debt":400,"held":0,"available":0}'::jsonb,
  'a user in debt has a negative balance but available 0');
select tests.authenticate_as('00000000-0000-4000-c902-000000000002');
select is(tests.error_detail($$select public.record_usage('chat', 5, 'c902-usage')$$), 'balance: 0, required: 5',
  'and a PT402 in debt says balance: 0');
select tests.clear_authentication();

select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-c902-%'$$,
  'the ledger explains every balance');

select * from finish();
rollback;
