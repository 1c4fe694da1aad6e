-- run_due_drips processes simple subscriptions set-based and the rest one at a time; both
-- paths must write the same drip rows, lots and balances as run_drip does.
begin;
select plan(5);

select tests.create_user('batch-single@example.test', '00000000-0000-4000-8f00-000000000001');
select tests.create_user('batch-set@example.test', '00000000-0000-4000-8f00-000000000002');
-- Anchored at this transaction's now(): record_usage's own catch-up (as of now()) finds
-- nothing more to issue, the test drives the later cycles with explicit as-of times.
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-8f00-0000000000a1', '00000000-0000-4000-8f00-000000000001', 'default', 'active', now()),
  ('00000000-0000-4000-8f00-0000000000a2', '00000000-0000-4000-8f00-000000000002', 'default', 'active', now());

-- Other committed subscriptions (a reused database) must not take this test's batch.
update public.customer_subscriptions set next_drip_at = null
 where id not in ('00000000-0000-4000-8f00-0000000000a1', '00000000-0000-4000-8f00-0000000000a2');

-- Cycle k for the single path first (run_drip), then for the batch path (run_due_drips sees
-- only the second subscription due, a simple one), with the same usage in between.
create function pg_temp.cycle(k integer) returns void language plpgsql as $$
begin
  perform public.run_drip('00000000-0000-4000-8f00-0000000000a1', now() + (k - 1) * interval '28 days');
  perform public.run_due_drips(now() + (k - 1) * interval '28 days', 1000);
end $$;
create function pg_temp.spend(n bigint, key text) returns void language plpgsql as $$
begin
  perform public.record_usage('chat', n, key || '-1', '00000000-0000-4000-8f00-000000000001');
  perform public.record_usage('chat', n, key || '-2', '00000000-0000-4000-8f00-000000000002');
end $$;

select pg_temp.cycle(1);
select pg_temp.spend(100000, 'b1');
select pg_temp.cycle(2);
select pg_temp.spend(300000, 'b2');
select pg_temp.cycle(3);
select pg_temp.cycle(4);
select pg_temp.spend(500000, 'b3');
select pg_temp.cycle(5);

select results_eq(
  $$select cycle_number, drip_amount, drip_date - now(), rollover_from_previous, rollover_cycles_count, expired_tokens,
           balance_before, balance_after, billing_period_start - now(), billing_period_end - now()
      from public.token_drips where subscription_id = '00000000-0000-4000-8f00-0000000000a2' order by cycle_number$$,
  $$select cycle_number, drip_amount, drip_date - now(), rollover_from_previous, rollover_cycles_count, expired_tokens,
           balance_before, balance_after, billing_period_start - now(), billing_period_end - now()
      from public.token_drips where subscription_id = '00000000-0000-4000-8f00-0000000000a1' order by cycle_number$$,
  'the batch path writes the same drip rows as run_drip'
);
select results_eq(
  $$select source, original, remaining, expires_at from public.token_lots
     where user_id = '00000000-0000-4000-8f00-000000000002' order by created_at$$,
  $$select source, original, remaining, expires_at from public.token_lots
     where user_id = '00000000-0000-4000-8f00-000000000001' order by created_at$$,
  'the batch path leaves the same lots'
);
select is(
  (select balance from public.token_balances where user_id = '00000000-0000-4000-8f00-000000000002'),
  (select balance from public.token_balances where user_id = '00000000-0000-4000-8f00-000000000001'),
  'the batch path leaves the same balance'
);
select is(
  (select count(*)::int from public.token_drips where subscription_id = '00000000-0000-4000-8f00-0000000000a2'),
  5, 'five cycles issued on the batch path'
);
select is_empty('select * from public.verify_token_ledger()', 'the ledger explains every balance');

select * from finish();
rollback;
