-- A subscription whose drip failed stays set aside: later batches do not take it again (no
-- batch pays for it twice), until an operator fixes it and clears its drip_failures row
-- (delete, as service_role), or runs run_drip for it, which clears the row when it succeeds.
-- run_drip on a subscription that still fails raises the error (the operator sees it).
begin;
select plan(11);
set local timezone to 'UTC';

select tests.freeze_other_subscriptions();

select tests.create_user(format('rdd-aside-%s@example.test', n), ('00000000-0000-4000-d2a4-00000000000' || n)::uuid) from generate_series(1, 2) n;
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-d2a4-0000000000a1', '00000000-0000-4000-d2a4-000000000001', 'default', 'active', now()),
  ('00000000-0000-4000-d2a4-0000000000a2', '00000000-0000-4000-d2a4-000000000002', 'default', 'active', now());
-- Both broken: their cycle 1 already has a drip row.
select tests.break_drip(s.id) from public.customer_subscriptions s where s.user_id::text like '00000000-0000-4000-d2a4-%';

select tests.authenticate_as_service_role();
select is(public.run_due_drips(now(), 1000) - 'tokens_expired',
  '{"subscriptions": 2, "cycles_issued": 0, "tokens_dripped": 0, "subscriptions_failed": 2}'::jsonb, 'both fail once');
select is(public.run_due_drips(now(), 1000) - 'tokens_expired',
  '{"subscriptions": 0, "cycles_issued": 0, "tokens_dripped": 0, "subscriptions_failed": 0}'::jsonb,
  'the next batch does not take them again');
select is((select count(*)::int from public.drip_failures where user_id::text like '00000000-0000-4000-d2a4-%'), 2,
  'service_role reads the failures');
select throws_ok($$select public.run_drip('00000000-0000-4000-d2a4-0000000000a1', now())$$, '23505', null,
  'run_drip on a subscription that still fails raises its error');

-- The operator's fix: skip the cycle that is already there, then clear the failure.
update public.customer_subscriptions set next_cycle_number = 2, next_drip_at = drip_anchor + interval '28 days'
 where user_id::text like '00000000-0000-4000-d2a4-%';
select is(public.run_due_drips(now() + interval '28 days', 1000) ->> 'subscriptions', '0',
  'fixed but not cleared: still set aside');
select lives_ok($$delete from public.drip_failures where subscription_id = '00000000-0000-4000-d2a4-0000000000a1'$$,
  'service_role clears a failure');
select is(public.run_due_drips(now() + interval '28 days', 1000) - 'tokens_expired',
  '{"subscriptions": 1, "cycles_issued": 1, "tokens_dripped": 375000, "subscriptions_failed": 0}'::jsonb,
  'the cleared subscription drips again (cycle 2)');
select is(public.run_drip('00000000-0000-4000-d2a4-0000000000a2', now() + interval '28 days') ->> 'cycles_issued', '1',
  'run_drip retries a set-aside subscription');
select tests.clear_authentication();
select is_empty($$select 1 from public.drip_failures where user_id::text like '00000000-0000-4000-d2a4-%'$$,
  'and its success cleared the failure');
select results_eq(
  $$select subscription_id, cycle_number, drip_amount from public.token_drips
     where user_id::text like '00000000-0000-4000-d2a4-%' and drip_amount > 0 order by subscription_id$$,
  $$values ('00000000-0000-4000-d2a4-0000000000a1'::uuid, 2, 375000::bigint), ('00000000-0000-4000-d2a4-0000000000a2', 2, 375000)$$,
  'each drips cycle 2, once');
select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-d2a4-%'$$, 'the ledger is consistent');

select * from finish();
rollback;
