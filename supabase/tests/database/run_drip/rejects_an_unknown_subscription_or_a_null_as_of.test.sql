-- run_drip rejects bad arguments with 22023 and writes nothing: an unknown or null
-- subscription id, a null as-of.
begin;
select plan(7);
set local timezone to 'UTC';

select tests.create_subscriber('rd-bad@example.test', '00000000-0000-4000-d118-000000000001', '00000000-0000-4000-d118-0000000000a1');

select tests.authenticate_as_service_role();
select throws_ok($$select public.run_drip('00000000-0000-4000-d118-0000000000ff', now())$$,
  '22023', 'Unknown subscription 00000000-0000-4000-d118-0000000000ff.', 'an unknown subscription is rejected');
select throws_ok($$select public.run_drip(null, now())$$, '22023', null, 'a null subscription is rejected');
select throws_ok($$select public.run_drip('00000000-0000-4000-d118-0000000000a1', null)$$,
  '22023', 'p_as_of is required.', 'a null as-of is rejected');
select throws_ok($$select public.run_drip('00000000-0000-4000-d118-000000000001', now())$$,
  '22023', null, 'a user id is not a subscription id');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-d118-000000000001'), 'balance=0 next_cycle=1', 'none of the rejected calls wrote anything');
select tests.authenticate_as_service_role();
select is((public.run_drip('00000000-0000-4000-d118-0000000000a1', now()) ->> 'cycles_issued')::int, 1, 'a good call still works');
select tests.clear_authentication();
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d118-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
