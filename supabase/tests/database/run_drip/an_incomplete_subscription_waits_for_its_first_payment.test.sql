-- An incomplete subscription (first payment pending) is not processed: a drip run before the
-- payment must not skip cycle 1 for good. Once it turns active, cycle 1 is issued.
begin;
select plan(4);

select tests.create_subscriber('rd-incomplete@example.test', '00000000-0000-4000-d114-000000000001', '00000000-0000-4000-d114-0000000000a1', 'default', 'incomplete');

select is((public.run_drip('00000000-0000-4000-d114-0000000000a1', now() + interval '1 minute') ->> 'cycles_issued')::int, 0,
  'nothing is issued while the first payment is pending');
select is((select next_cycle_number from public.customer_subscriptions where id = '00000000-0000-4000-d114-0000000000a1'), 1,
  'cycle 1 is still due');

update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d114-0000000000a1';
select is((public.run_drip('00000000-0000-4000-d114-0000000000a1', now() + interval '2 minutes') ->> 'cycles_issued')::int, 1,
  'once active, cycle 1 is issued');
select results_eq(
  $$select cycle_number, drip_amount, billing_period_start - now() from public.token_drips
     where subscription_id = '00000000-0000-4000-d114-0000000000a1'$$,
  $$values (1, 375000::bigint, interval '0')$$,
  'cycle 1 starts at the anchor');

select * from finish();
rollback;
