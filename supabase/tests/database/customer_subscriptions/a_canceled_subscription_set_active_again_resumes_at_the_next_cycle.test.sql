-- Stripe never brings a canceled subscription back, but the service (or an operator in SQL)
-- may write status = 'active' on it, and that is not refused: the subscription resumes at the
-- first cycle of its anchor grid that starts at or after the write, as a plan change does.
-- The cycles that came due while it was canceled are not owed and are not issued by a
-- catch-up (docs/api.md, drip rules). The anchor lies 100 days back (cycles at -100, -72,
-- -44, -16, +12 days).
begin;
select plan(5);
set local timezone to 'UTC';

select tests.create_user('cs-reactivate@example.test', '00000000-0000-4000-d407-000000000001');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-d407-0000000000a1', '00000000-0000-4000-d407-000000000001', 'default', 'canceled',
   now() - interval '100 days');

select tests.authenticate_as_service_role();
update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d407-0000000000a1';
select tests.clear_authentication();
select results_eq(
  $$select status, next_cycle_number, next_drip_at - now() from public.customer_subscriptions
     where id = '00000000-0000-4000-d407-0000000000a1'$$,
  $$values ('active'::text, 5, interval '12 days')$$,
  'the service''s write is accepted: the next cycle on the anchor grid is cycle 5, in 12 days');
select is((public.run_drip('00000000-0000-4000-d407-0000000000a1', now()) ->> 'cycles_issued')::int, 0,
  'nothing is owed for the four cycles that came due while it was canceled');
select is((public.run_drip('00000000-0000-4000-d407-0000000000a1', now() + interval '12 days') ->> 'cycles_issued')::int, 1,
  'cycle 5 is issued when it starts');
select results_eq(
  $$select cycle_number, billing_period_start - now(), balance_after from public.token_drips
     where subscription_id = '00000000-0000-4000-d407-0000000000a1'$$,
  $$values (5, interval '12 days', 375000::bigint)$$, 'one row: cycle 5');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d407-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
