-- A user's own calls catch up their due drips first; when one of their subscriptions fails to
-- drip, that subscription is set aside (recorded in drip_failures, as the batch does) and the
-- call goes on with the tokens the user has, instead of failing every call of that user.
begin;
select plan(5);

select tests.create_user('ru-broken-sub@example.test', '00000000-0000-4000-d501-000000000001');
select public.grant_tokens('00000000-0000-4000-d501-000000000001', 1000, 'admin_grant', 'ru-broken-sub:grant');
-- Due now, and broken: its cycle 1 already has a drip row (written past every constraint).
select tests.break_drip(tests.create_subscription('00000000-0000-4000-d501-0000000000a1', '00000000-0000-4000-d501-000000000001'));

select tests.authenticate_as('00000000-0000-4000-d501-000000000001');
select lives_ok($$select set_config('test.use', public.record_usage('chat', 100, 'ru-broken-sub:use')::text, true)$$,
  'the user records usage');
select is(current_setting('test.use', true)::jsonb ->> 'balance_after', '900', 'spent from the tokens the user has');
select lives_ok($$select public.record_usage('chat', 100, 'ru-broken-sub:use-2')$$, 'and again');
select tests.clear_authentication();
select results_eq(
  $$select subscription_id, sqlstate from public.drip_failures where user_id = '00000000-0000-4000-d501-000000000001'$$,
  $$values ('00000000-0000-4000-d501-0000000000a1'::uuid, '23505'::text)$$,
  'the failing subscription is recorded for the operators');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d501-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
