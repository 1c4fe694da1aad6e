-- run_due_drips rejects bad arguments with 22023 before it touches anything: a null as-of,
-- and a p_limit that is null, below 1 or above 100,000. The limits themselves are accepted.
begin;
select plan(11);
set local timezone to 'UTC';

select tests.freeze_other_subscriptions();

select tests.create_subscriber('rdd-bad@example.test', '00000000-0000-4000-d204-000000000001', '00000000-0000-4000-d204-0000000000a1');

select tests.authenticate_as_service_role();
select throws_ok($$select public.run_due_drips(null, 10)$$, '22023', 'p_as_of is required.', 'a null as-of is rejected');
select throws_ok($$select public.run_due_drips(now(), null)$$, '22023', 'p_limit must be between 1 and 100000.', 'a null p_limit is rejected');
select throws_ok($$select public.run_due_drips(now(), 0)$$, '22023', 'p_limit must be between 1 and 100000.', 'p_limit 0 is rejected');
select throws_ok($$select public.run_due_drips(now(), -1)$$, '22023', 'p_limit must be between 1 and 100000.', 'a negative p_limit is rejected');
select throws_ok($$select public.run_due_drips(now(), 100001)$$, '22023', 'p_limit must be between 1 and 100000.', 'p_limit 100,001 is rejected');
select throws_ok($$select public.run_due_drips(p_as_of => null)$$, '22023', 'p_as_of is required.', 'a null as-of with the default limit is rejected');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-d204-000000000001'), 'balance=0 next_cycle=1', 'none of the rejected calls wrote anything');

select tests.authenticate_as_service_role();
select is(public.run_due_drips(now(), 1) ->> 'cycles_issued', '1', 'p_limit 1 is accepted');
select is(public.run_due_drips(now() + interval '28 days', 100000) ->> 'cycles_issued', '1', 'p_limit 100,000 is accepted');
select is(public.run_due_drips(now() + interval '56 days') ->> 'cycles_issued', '1', 'the default limit works');
select tests.clear_authentication();
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d204-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
