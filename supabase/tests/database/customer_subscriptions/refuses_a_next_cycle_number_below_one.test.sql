-- Cycles are numbered from 1: a subscription whose next_cycle_number is 0 or negative is
-- refused (23514) whoever writes it, on insert and on update, and nothing changes. (Such a row
-- used to be accepted and then failed every drip batch that took it.)
begin;
select plan(6);

select tests.create_user('cs-cycle-one@example.test', '00000000-0000-4000-d407-000000000001');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-d407-0000000000a1', '00000000-0000-4000-d407-000000000001', 'default', 'active', now());

select tests.authenticate_as_service_role();
select is(tests.error_sqlstate(pg_catalog.format('update public.customer_subscriptions set next_cycle_number = %s where id = %L',
    c.cycle, '00000000-0000-4000-d407-0000000000a1')), '23514', c.description)
  from (values (0, 'service_role: next_cycle_number 0 is refused'), (-5, 'service_role: a negative next_cycle_number is refused')
  ) c(cycle, description);
select throws_ok(
  $$insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor, next_cycle_number)
    values ('00000000-0000-4000-d407-000000000001', 'default', 'active', now(), 0)$$,
  '23514', null, 'service_role: a new subscription with next_cycle_number 0 is refused');
select tests.clear_authentication();

select throws_ok(
  $$update public.customer_subscriptions set next_cycle_number = 0 where id = '00000000-0000-4000-d407-0000000000a1'$$,
  '23514', null, 'the table owner is refused too: it is a constraint');
select results_eq(
  $$select count(*)::int, min(next_cycle_number) from public.customer_subscriptions where user_id = '00000000-0000-4000-d407-000000000001'$$,
  $$values (1, 1)$$, 'nothing changed');
select is(public.run_drip('00000000-0000-4000-d407-0000000000a1', now()) ->> 'cycles_issued', '1',
  'the subscription drips its cycle 1');

select * from finish();
rollback;
