-- record_usage spends only what is available (balance minus active holds): when only held
-- tokens remain it is refused with PT402 and writes nothing; released or lapsed holds give
-- their tokens back to it.
begin;
select plan(8);

select tests.create_user('th-ru-alice@example.test', '00000000-0000-4000-b503-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b503-000000000001');
select set_config('test.h', public.reserve_tokens('chat', 60, 'th-ru-hold') ->> 'hold_id', true);
select is(tests.error_summary($$select public.record_usage('chat', 41, 'th-ru-1')$$),
  'PT402 Insufficient tokens. (balance: 40, required: 41)',
  'usage cannot spend held tokens: the refusal reports the available tokens');
select is(public.record_usage('chat', 40, 'th-ru-2') ->> 'balance_after', '60', 'usage may spend everything not held');
select is(tests.error_summary($$select public.record_usage('chat', 1, 'th-ru-3')$$),
  'PT402 Insufficient tokens. (balance: 0, required: 1)',
  'with only held tokens left, even one token is refused: nothing is available although the balance is 60');
select tests.clear_authentication();
select results_eq(
  $$select (select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-b503-000000000001'),
           (select balance from public.token_balances where user_id = '00000000-0000-4000-b503-000000000001')$$,
  $$values (1, 60::bigint)$$, 'the refused calls wrote nothing');

-- the hold settles from its own tokens even though nothing is available
select tests.authenticate_as('00000000-0000-4000-b503-000000000001');
select is(public.settle_hold(current_setting('test.h')::uuid, 50) ->> 'overage_tokens', '0', 'the hold pays for its own usage');
select is(public.record_usage('chat', 10, 'th-ru-4') ->> 'balance_after', '0', 'the 10 it released are available to usage');
select tests.clear_authentication();

-- a lapsed hold gives its tokens back to usage at once
select public.grant_tokens('00000000-0000-4000-b503-000000000001', 30, 'admin_grant', 'th-ru-grant2');
select public.reserve_tokens('chat', 30, 'th-ru-hold2', '00000000-0000-4000-b503-000000000001');
update public.token_holds set expires_at = now() - interval '1 second'
 where user_id = '00000000-0000-4000-b503-000000000001' and idempotency_key = 'th-ru-hold2';
select tests.authenticate_as('00000000-0000-4000-b503-000000000001');
select is(public.record_usage('chat', 30, 'th-ru-5') ->> 'balance_after', '0', 'a lapsed hold no longer blocks usage');
select tests.clear_authentication();
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b503-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
