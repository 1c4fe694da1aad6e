-- A subscription's cycle numbers only go forward: once cycles are issued (or skipped),
-- next_cycle_number cannot be set back to one of them (23514), whoever writes it, so no cycle
-- is ever issued twice. (Setting it back used to be accepted and then failed every drip batch
-- that took the row, 23505.) Moving it forward is the operator's call and stays allowed.
begin;
select plan(7);
set local timezone to 'UTC';

select tests.create_user('cs-cycle-back@example.test', '00000000-0000-4000-d408-000000000001');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-d408-0000000000a1', '00000000-0000-4000-d408-000000000001', 'default', 'active', now());
select is(public.run_drip('00000000-0000-4000-d408-0000000000a1', now() + interval '28 days') ->> 'cycles_issued', '2',
  'set-up: cycles 1 and 2 issued');

select tests.authenticate_as_service_role();
select throws_ok(
  $$update public.customer_subscriptions set next_cycle_number = 2 where id = '00000000-0000-4000-d408-0000000000a1'$$,
  '23514', null, 'service_role: back to an issued cycle is refused');
select throws_ok(
  $$update public.customer_subscriptions set next_cycle_number = 1, next_drip_at = drip_anchor
     where id = '00000000-0000-4000-d408-0000000000a1'$$,
  '23514', null, 'service_role: back to cycle 1 with its start is refused');
select tests.clear_authentication();
select throws_ok(
  $$update public.customer_subscriptions set next_cycle_number = 2 where id = '00000000-0000-4000-d408-0000000000a1'$$,
  '23514', null, 'the table owner is refused too');
select results_eq(
  $$select next_cycle_number, next_drip_at - now() from public.customer_subscriptions where id = '00000000-0000-4000-d408-0000000000a1'$$,
  $$values (3, interval '56 days')$$, 'the schedule is unchanged');

select tests.authenticate_as_service_role();
select lives_ok(
  $$update public.customer_subscriptions set next_cycle_number = 4, next_drip_at = now() + interval '84 days'
     where id = '00000000-0000-4000-d408-0000000000a1'$$,
  'service_role may skip a cycle forward');
select tests.clear_authentication();
select is(public.run_drip('00000000-0000-4000-d408-0000000000a1', now() + interval '84 days') - 'balance_after' - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 750000}'::jsonb,
  'the next drip is cycle 4 (the lots of cycles 1 and 2 lapse at its start)');

select * from finish();
rollback;
