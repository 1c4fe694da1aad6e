-- run_due_drips picks due subscriptions only and returns counts: a subscription is due when
-- its next cycle starts at or before the as-of. Not yet due, canceled and no-drip plans are
-- left alone; a past_due one is visited (its cycle is skipped: counted as a subscription,
-- not as an issued cycle). A second run as of the same instant finds nothing.
begin;
select plan(9);
set local timezone to 'UTC';

select tests.freeze_other_subscriptions();

select tests.create_user(format('rdd-due-%s@example.test', n), ('00000000-0000-4000-d201-00000000000' || n)::uuid) from generate_series(1, 6) n;
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-d201-0000000000a1', '00000000-0000-4000-d201-000000000001', 'default', 'active',   now()),
  ('00000000-0000-4000-d201-0000000000a2', '00000000-0000-4000-d201-000000000002', 'default', 'active',   now() + interval '10 days'),
  ('00000000-0000-4000-d201-0000000000a3', '00000000-0000-4000-d201-000000000003', 'default', 'canceled', now()),
  ('00000000-0000-4000-d201-0000000000a4', '00000000-0000-4000-d201-000000000004', 'default', 'past_due', now()),
  ('00000000-0000-4000-d201-0000000000a5', '00000000-0000-4000-d201-000000000005', 'annual',  'active',   now()),
  ('00000000-0000-4000-d201-0000000000a6', '00000000-0000-4000-d201-000000000006', 'default', 'trialing', now());

select is(public.run_due_drips(now() + interval '1 day', 1000),
  '{"subscriptions": 3, "cycles_issued": 2, "tokens_dripped": 750000, "tokens_expired": 0, "subscriptions_failed": 0}'::jsonb,
  'day 1: the active, past_due and trialing subscriptions anchored now are due; two cycles issued');
select results_eq(
  $$select s.id, s.next_cycle_number, s.next_drip_at - now(), (select count(*)::int from public.token_drips d where d.subscription_id = s.id)
      from public.customer_subscriptions s where s.id::text like '00000000-0000-4000-d201-%' order by s.id$$,
  $$values ('00000000-0000-4000-d201-0000000000a1'::uuid, 2, interval '28 days', 1),
           ('00000000-0000-4000-d201-0000000000a2', 1, interval '10 days', 0),
           ('00000000-0000-4000-d201-0000000000a3', 1, null::interval, 0),
           ('00000000-0000-4000-d201-0000000000a4', 2, interval '28 days', 0),
           ('00000000-0000-4000-d201-0000000000a5', 1, null::interval, 0),
           ('00000000-0000-4000-d201-0000000000a6', 2, interval '28 days', 1)$$,
  'exactly the due subscriptions moved on; not-yet-due, canceled and no-drip ones are untouched');
select is(public.run_due_drips(now() + interval '1 day', 1000),
  '{"subscriptions": 0, "cycles_issued": 0, "tokens_dripped": 0, "tokens_expired": 0, "subscriptions_failed": 0}'::jsonb,
  'the same as-of again: nothing is due');

select is(public.run_due_drips(now() + interval '28 days', 1000),
  '{"subscriptions": 4, "cycles_issued": 3, "tokens_dripped": 1125000, "tokens_expired": 0, "subscriptions_failed": 0}'::jsonb,
  'day 28: cycle 2 of the three anchored now (past_due skipped) and cycle 1 of the one anchored at day 10');
select is(public.run_due_drips(now() + interval '56 days', 1000),
  '{"subscriptions": 4, "cycles_issued": 3, "tokens_dripped": 1125000, "tokens_expired": 750000, "subscriptions_failed": 0}'::jsonb,
  'day 56: cycle 3 expires cycle 1''s lot of the active and trialing subscriptions');
select is(
  (select sum(expired_tokens)::bigint from public.token_drips where user_id::text like '00000000-0000-4000-d201-%'),
  750000::bigint, 'the reported expiry is what the rows record');

select results_eq(
  $$select subscription_id, array_agg(cycle_number order by cycle_number) from public.token_drips
     where user_id::text like '00000000-0000-4000-d201-%' group by subscription_id order by subscription_id$$,
  $$values ('00000000-0000-4000-d201-0000000000a1'::uuid, array[1, 2, 3]),
           ('00000000-0000-4000-d201-0000000000a2', array[1, 2]),
           ('00000000-0000-4000-d201-0000000000a6', array[1, 2, 3])$$,
  'each issued cycle exactly once');
select results_eq(
  $$select b.user_id, b.balance from public.token_balances b where b.user_id::text like '00000000-0000-4000-d201-%' order by b.user_id$$,
  $$values ('00000000-0000-4000-d201-000000000001'::uuid, 750000::bigint), ('00000000-0000-4000-d201-000000000002', 750000),
           ('00000000-0000-4000-d201-000000000003', 0), ('00000000-0000-4000-d201-000000000004', 0),
           ('00000000-0000-4000-d201-000000000005', 0), ('00000000-0000-4000-d201-000000000006', 750000)$$,
  'the balances');
select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-d201-%'$$, 'the ledger is consistent');

select * from finish();
rollback;
