-- A released hold cannot be settled (22023: reserve again), and the refusal writes nothing.
begin;
select plan(6);

select tests.create_user('sh-released-alice@example.test', '00000000-0000-4000-b208-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b208-000000000001');
select set_config('test.h1', public.reserve_tokens('chat', 40, 'h1') ->> 'hold_id', true);
select public.release_hold(current_setting('test.h1')::uuid);
select throws_ok($$select public.settle_hold(current_setting('test.h1')::uuid, 10)$$, '22023',
  'This hold was released; reserve again.', 'a released hold cannot be settled');
select throws_ok($$select public.settle_hold(current_setting('test.h1')::uuid, 0)$$, '22023', null,
  'not even with zero tokens');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select throws_ok($$select public.settle_hold(current_setting('test.h1')::uuid, 10)$$, '22023', null,
  'not by the service either');
select tests.clear_authentication();

-- a lapsed hold that was released is released too
select set_config('test.h2', tests.reserve_as('00000000-0000-4000-b208-000000000001', 40, 'h2')::text, true);
select tests.lapse_hold(current_setting('test.h2')::uuid);
select tests.authenticate_as('00000000-0000-4000-b208-000000000001');
select public.release_hold(current_setting('test.h2')::uuid);
select throws_ok($$select public.settle_hold(current_setting('test.h2')::uuid, 10)$$, '22023', null,
  'a lapsed hold, once released, cannot be settled');
select tests.clear_authentication();

select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b208-000000000001'), tests.hold_statuses('00000000-0000-4000-b208-000000000001')), 'balance=100 lots=1 remaining=100 transactions=1 holds=2 held=0 h1:released:0,h2:released:0',
  'nothing was written: no usage, the holds stay released');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b208-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
