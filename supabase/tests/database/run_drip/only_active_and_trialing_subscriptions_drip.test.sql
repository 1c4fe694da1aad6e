-- Which statuses drip: active and trialing do. past_due, unpaid and paused skip the cycle
-- that comes due (the schedule moves on, nothing is issued). incomplete waits: its cycle stays
-- due for when the first payment arrives. canceled and incomplete_expired are never scheduled.
begin;
select plan(4);
set local timezone to 'UTC';

insert into auth.users (id, email)
select ('00000000-0000-4000-d113-00000000000' || n)::uuid, format('rd-status-%s@example.test', n) from generate_series(1, 8) n;
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
select ('00000000-0000-4000-d113-0000000000a' || n)::uuid, ('00000000-0000-4000-d113-00000000000' || n)::uuid, 'default',
       (array['active', 'trialing', 'past_due', 'unpaid', 'incomplete', 'paused', 'canceled', 'incomplete_expired'])[n], now()
from generate_series(1, 8) n;

select results_eq(
  $$select status, (public.run_drip(id, now()) ->> 'cycles_issued')::int
      from public.customer_subscriptions where id::text like '00000000-0000-4000-d113-%' order by id$$,
  $$values ('active'::text, 1), ('trialing', 1), ('past_due', 0), ('unpaid', 0), ('incomplete', 0), ('paused', 0),
           ('canceled', 0), ('incomplete_expired', 0)$$,
  'cycle 1 is issued for active and trialing only');
select results_eq(
  $$select status, next_cycle_number, next_drip_at - now()
      from public.customer_subscriptions where id::text like '00000000-0000-4000-d113-%' order by id$$,
  $$values ('active'::text, 2, interval '28 days'), ('trialing', 2, interval '28 days'), ('past_due', 2, interval '28 days'),
           ('unpaid', 2, interval '28 days'), ('incomplete', 1, interval '0'), ('paused', 2, interval '28 days'),
           ('canceled', 1, null::interval), ('incomplete_expired', 1, null::interval)$$,
  'skipping statuses move past cycle 1; incomplete keeps it due; canceled and incomplete_expired have no schedule');
select results_eq(
  $$select b.user_id, b.balance from public.token_balances b where b.user_id::text like '00000000-0000-4000-d113-%' order by b.user_id$$,
  $$values ('00000000-0000-4000-d113-000000000001'::uuid, 375000::bigint), ('00000000-0000-4000-d113-000000000002', 375000),
           ('00000000-0000-4000-d113-000000000003', 0), ('00000000-0000-4000-d113-000000000004', 0),
           ('00000000-0000-4000-d113-000000000005', 0), ('00000000-0000-4000-d113-000000000006', 0),
           ('00000000-0000-4000-d113-000000000007', 0), ('00000000-0000-4000-d113-000000000008', 0)$$,
  'only the active and the trialing subscriber got tokens');
select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-d113-%'$$,
  'the ledger is consistent');

select * from finish();
rollback;
