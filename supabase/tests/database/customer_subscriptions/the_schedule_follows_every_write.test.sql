-- The schedule columns (next_cycle_number, next_drip_at) follow whatever writes a subscription:
-- a new one is due at its anchor; canceled, incomplete_expired, no plan or a plan without
-- drips mean no schedule; moving the anchor before the first drip moves the schedule; a
-- status change keeps the cycle grid. Every subscriber gets a balance row.
begin;
select plan(8);
set local timezone to 'UTC';

insert into auth.users (id, email)
select ('00000000-0000-4000-d405-00000000000' || n)::uuid, format('cs-schedule-%s@example.test', n) from generate_series(1, 6) n;
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-d405-0000000000a1', '00000000-0000-4000-d405-000000000001', 'default', 'active', now() + interval '1 hour'),
  ('00000000-0000-4000-d405-0000000000a2', '00000000-0000-4000-d405-000000000002', 'default', 'canceled', now()),
  ('00000000-0000-4000-d405-0000000000a3', '00000000-0000-4000-d405-000000000003', 'default', 'incomplete_expired', now()),
  ('00000000-0000-4000-d405-0000000000a4', '00000000-0000-4000-d405-000000000004', null, 'active', now()),
  ('00000000-0000-4000-d405-0000000000a5', '00000000-0000-4000-d405-000000000005', 'annual', 'active', now()),
  ('00000000-0000-4000-d405-0000000000a6', '00000000-0000-4000-d405-000000000006', 'default', 'incomplete', now());

select results_eq(
  $$select id, next_cycle_number, next_drip_at - now() from public.customer_subscriptions where id::text like '00000000-0000-4000-d405-%' order by id$$,
  $$values ('00000000-0000-4000-d405-0000000000a1'::uuid, 1, interval '1 hour'),
           ('00000000-0000-4000-d405-0000000000a2', 1, null::interval),
           ('00000000-0000-4000-d405-0000000000a3', 1, null::interval),
           ('00000000-0000-4000-d405-0000000000a4', 1, null::interval),
           ('00000000-0000-4000-d405-0000000000a5', 1, null::interval),
           ('00000000-0000-4000-d405-0000000000a6', 1, interval '0')$$,
  'on insert: due at the anchor, or no schedule');
select is((select count(*)::int from public.token_balances where user_id::text like '00000000-0000-4000-d405-%'), 6,
  'every subscriber has a balance row');

update public.customer_subscriptions set drip_anchor = now() + interval '2 hours' where id = '00000000-0000-4000-d405-0000000000a1';
select is((select next_drip_at - now() from public.customer_subscriptions where id = '00000000-0000-4000-d405-0000000000a1'),
  interval '2 hours', 'before the first drip, moving the anchor moves the schedule');

update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d405-0000000000a6';
select public.run_drip('00000000-0000-4000-d405-0000000000a6', now() + interval '28 days');
select results_eq(
  $$select array_agg(cycle_number order by cycle_number) from public.token_drips where subscription_id = '00000000-0000-4000-d405-0000000000a6'$$,
  $$values (array[1, 2])$$, 'incomplete -> active before the anchor passed: cycle 1 is owed and issued');
update public.customer_subscriptions set status = 'paused' where id = '00000000-0000-4000-d405-0000000000a6';
update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d405-0000000000a6';
select results_eq(
  $$select next_cycle_number, next_drip_at - now() from public.customer_subscriptions where id = '00000000-0000-4000-d405-0000000000a6'$$,
  $$values (3, interval '56 days')$$, 'pausing and resuming keeps the cycle grid');

update public.customer_subscriptions set plan_id = 'default' where id = '00000000-0000-4000-d405-0000000000a4';
select results_eq(
  $$select next_cycle_number, next_drip_at - now() from public.customer_subscriptions where id = '00000000-0000-4000-d405-0000000000a4'$$,
  $$values (1, interval '0')$$, 'a subscription given a drip plan in the cycle it starts is due at its anchor');
update public.customer_subscriptions set status = 'canceled' where id = '00000000-0000-4000-d405-0000000000a1';
select is(tests.drip_schedule('00000000-0000-4000-d405-0000000000a1'), 'cycle 1 unscheduled', 'canceling clears the schedule');

select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-d405-%'$$, 'the ledger is consistent');

select * from finish();
rollback;
