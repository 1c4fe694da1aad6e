-- Only the service runs drips: anon, a signed-in user (even for its own subscription) and an
-- admin get 42501 and nothing is written; service_role (and a session that did not switch
-- role, like pg_cron or the SQL editor) may.
begin;
select plan(8);
set local timezone to 'UTC';

-- alice, and bob, who acts as an admin (tests.caller_claims)
select tests.create_users('rd-roles', '00000000-0000-4000-d117-000000000001', '00000000-0000-4000-d117-000000000002');
select tests.create_subscription('00000000-0000-4000-d117-0000000000a1', '00000000-0000-4000-d117-000000000001');

select is(tests.execute_grantees('public.run_drip(uuid, timestamptz)'), 'service_role', 'only service_role has EXECUTE on run_drip');
select is(tests.outcomes_by_caller($$select public.run_drip('00000000-0000-4000-d117-0000000000a1', now())$$,
    '00000000-0000-4000-d117-000000000001', '00000000-0000-4000-d117-000000000002'),
  'anon: error 42501, user: error 42501, admin: error 42501',
  'anon, the subscriber (for its own subscription) and an admin cannot run drips');
select is(tests.outcome_as(tests.caller_claims('user', '00000000-0000-4000-d117-000000000001'), $$select public.run_drip('00000000-0000-4000-d117-0000000000a1')$$),
  'error 42501', 'nor with the default as-of');

select is(tests.ledger_footprint('00000000-0000-4000-d117-000000000001'), 'balance=0 next_cycle=1', 'the refused calls wrote nothing');

select tests.authenticate_as_service_role();
select is((public.run_drip('00000000-0000-4000-d117-0000000000a1', now()) ->> 'cycles_issued')::int, 1, 'service_role runs drips');
select tests.clear_authentication();
select is((public.run_drip('00000000-0000-4000-d117-0000000000a1', now() + interval '28 days') ->> 'cycles_issued')::int, 1,
  'a session that did not switch role (pg_cron, SQL editor) runs drips like the service');
select is(tests.ledger_footprint('00000000-0000-4000-d117-000000000001'), 'balance=750000 lots=2 remaining=750000 drips=2 next_cycle=3', 'two cycles written');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d117-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
