-- Canceled subscriptions never drip: one inserted canceled is never scheduled; one canceled
-- after cycle 1 loses its schedule and issues nothing at later boundaries, whatever the
-- as-of. What was dripped stays (its expiry is expire_tokens' job:
-- expire_tokens/expires_a_canceled_subscriptions_drip_lot_on_schedule).
begin;
select plan(9);
set local timezone to 'UTC';

select tests.create_subscriber('rd-canceled-a@example.test', '00000000-0000-4000-d111-000000000001',
  '00000000-0000-4000-d111-0000000000a1', p_status => 'canceled');
select tests.create_subscriber('rd-canceled-b@example.test', '00000000-0000-4000-d111-000000000002',
  '00000000-0000-4000-d111-0000000000a2');

select is(tests.drip_schedule('00000000-0000-4000-d111-0000000000a1'), 'cycle 1 unscheduled', 'a subscription inserted canceled is not scheduled');
select is(public.run_drip('00000000-0000-4000-d111-0000000000a1', now() + interval '200 days') - 'subscription_id',
  '{"cycles_issued": 0, "tokens_dripped": 0, "tokens_expired": 0, "balance_after": 0}'::jsonb,
  'and never drips, even 200 days on');

select is((public.run_drip('00000000-0000-4000-d111-0000000000a2', now()) ->> 'cycles_issued')::int, 1, 'the active one gets cycle 1');
update public.customer_subscriptions set status = 'canceled', canceled_at = now() where id = '00000000-0000-4000-d111-0000000000a2';
select is(tests.drip_schedule('00000000-0000-4000-d111-0000000000a2'), 'cycle 2 unscheduled', 'canceling clears the schedule');
select is(public.run_drip('00000000-0000-4000-d111-0000000000a2', now() + interval '28 days') - 'subscription_id',
  '{"cycles_issued": 0, "tokens_dripped": 0, "tokens_expired": 0, "balance_after": 375000}'::jsonb,
  'no cycle 2');
select is((public.run_drip('00000000-0000-4000-d111-0000000000a2', now() + interval '200 days') ->> 'cycles_issued')::int, 0,
  'nor any later cycle');
select results_eq(
  $$select user_id, count(*)::int, max(cycle_number) from public.token_drips
     where user_id in ('00000000-0000-4000-d111-000000000001', '00000000-0000-4000-d111-000000000002') group by user_id$$,
  $$values ('00000000-0000-4000-d111-000000000002'::uuid, 1, 1)$$,
  'the only drip row is cycle 1 of the subscription canceled later');
select is(tests.lot_history('00000000-0000-4000-d111-000000000002'), array['drip 1: 375000/375000, day 0 -> 56'],
  'its tokens stay, with their expiry unchanged (run_drip does not expire them any more)');
select is_empty($$select * from public.verify_token_ledger() where user_id in
  ('00000000-0000-4000-d111-000000000001', '00000000-0000-4000-d111-000000000002')$$, 'the ledger is consistent');

select * from finish();
rollback;
