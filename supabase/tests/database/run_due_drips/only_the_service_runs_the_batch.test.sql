-- Only the service runs the drip batch: anon, a signed-in user and an admin get 42501 and
-- nothing is written; service_role (and a session that did not switch role, as pg_cron's
-- job does) may.
begin;
select plan(8);
set local timezone to 'UTC';

select tests.freeze_other_subscriptions();

-- alice, and bob, who acts as an admin (tests.caller_claims)
select tests.create_users('rdd-roles', '00000000-0000-4000-d203-000000000001', '00000000-0000-4000-d203-000000000002');
select tests.create_subscription('00000000-0000-4000-d203-0000000000a1', '00000000-0000-4000-d203-000000000001');

select is(tests.execute_grantees('public.run_due_drips(timestamptz, integer)'), 'service_role',
  'only service_role has EXECUTE on run_due_drips');
select is(tests.outcomes_by_caller($$select public.run_due_drips(now(), 10)$$, '00000000-0000-4000-d203-000000000001', '00000000-0000-4000-d203-000000000002'),
  'anon: error 42501, user: error 42501, admin: error 42501', 'anon, a subscriber and an admin cannot run the drip batch');
select is(tests.outcome_as(tests.caller_claims('admin', '00000000-0000-4000-d203-000000000002'), $$select public.run_due_drips()$$),
  'error 42501', 'nor with the defaults');

select is(tests.ledger_footprint('00000000-0000-4000-d203-000000000001'), 'balance=0 next_cycle=1', 'the refused calls wrote nothing');

select tests.authenticate_as_service_role();
select is(public.run_due_drips(now(), 10) ->> 'cycles_issued', '1', 'service_role runs the drip batch');
select tests.clear_authentication();
select is(public.run_due_drips(now() + interval '28 days', 10) ->> 'cycles_issued', '1',
  'a session that did not switch role (pg_cron) runs it like the service');
select is(tests.ledger_footprint('00000000-0000-4000-d203-000000000001'), 'balance=750000 lots=2 remaining=750000 drips=2 next_cycle=3', 'two cycles written');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d203-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
