-- run_due_drips takes at most p_limit due subscriptions per call, the longest-waiting first
-- (next_drip_at, then id), and processes every due cycle of each one it takes. Calling again
-- until `subscriptions` is 0 drains the queue, each cycle once.
begin;
select plan(10);
set local timezone to 'UTC';

select tests.freeze_other_subscriptions();

select tests.create_user(format('rdd-limit-%s@example.test', n), ('00000000-0000-4000-d202-00000000000' || n)::uuid) from generate_series(1, 7) n;
-- anchors one second apart, in the reverse order of the ids; subscriptions 6 and 7 tie
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
select ('00000000-0000-4000-d202-0000000000a' || n)::uuid, ('00000000-0000-4000-d202-00000000000' || n)::uuid, 'default', 'active',
       now() + greatest(6 - n, 0) * interval '1 second'
from generate_series(1, 7) n;
select results_eq(
  $$select id, drip_anchor - now() from public.customer_subscriptions where id::text like '00000000-0000-4000-d202-%' order by drip_anchor, id$$,
  $$values ('00000000-0000-4000-d202-0000000000a6'::uuid, interval '0'), ('00000000-0000-4000-d202-0000000000a7', interval '0'),
           ('00000000-0000-4000-d202-0000000000a5', interval '1 second'), ('00000000-0000-4000-d202-0000000000a4', interval '2 seconds'),
           ('00000000-0000-4000-d202-0000000000a3', interval '3 seconds'), ('00000000-0000-4000-d202-0000000000a2', interval '4 seconds'),
           ('00000000-0000-4000-d202-0000000000a1', interval '5 seconds')$$,
  'set-up: seven anchors, 6 and 7 tied first, then 5, 4, 3, 2, 1');

create function pg_temp.dripped() returns uuid[] language sql as $f$
  select coalesce(array_agg(distinct subscription_id order by subscription_id), '{}') from public.token_drips
   where user_id::text like '00000000-0000-4000-d202-%'
$f$;

select is(public.run_due_drips(now() + interval '1 hour', 1) ->> 'subscriptions', '1', 'p_limit 1 takes one subscription');
select is(pg_temp.dripped(), array['00000000-0000-4000-d202-0000000000a6'::uuid], 'the earliest, the lower id of the tie');
select is(public.run_due_drips(now() + interval '1 hour', 2) ->> 'subscriptions', '2', 'p_limit 2 takes two');
select is(pg_temp.dripped(), array['00000000-0000-4000-d202-0000000000a5', '00000000-0000-4000-d202-0000000000a6',
                                   '00000000-0000-4000-d202-0000000000a7']::uuid[],
  'the other of the tie, then the next earliest');
select is(public.run_due_drips(now() + interval '1 hour', 2) - 'tokens_expired',
  '{"subscriptions": 2, "cycles_issued": 2, "tokens_dripped": 750000, "subscriptions_failed": 0}'::jsonb, 'two more (4 and 3)');
select is(public.run_due_drips(now() + interval '1 hour', 2) - 'tokens_expired',
  '{"subscriptions": 2, "cycles_issued": 2, "tokens_dripped": 750000, "subscriptions_failed": 0}'::jsonb, 'the last two (2 and 1)');
select is(public.run_due_drips(now() + interval '1 hour', 2) ->> 'subscriptions', '0', 'then nothing is due');

-- Several cycles of one subscription in one call: as of anchor + 56 days, subscriptions 6 and
-- 7 (anchored now) owe cycles 2 and 3, the others (anchored later) cycle 2 only.
select is(public.run_due_drips(now() + interval '56 days', 100000),
  '{"subscriptions": 7, "cycles_issued": 9, "tokens_dripped": 3375000, "tokens_expired": 750000, "subscriptions_failed": 0}'::jsonb,
  'a subscription taken once issues every cycle due; p_limit 100,000 is accepted');

select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-d202-%'$$, 'the ledger is consistent');

select * from finish();
rollback;
