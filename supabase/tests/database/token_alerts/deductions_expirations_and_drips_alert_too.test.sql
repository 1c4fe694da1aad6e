-- Every kind of change that lowers the balance is watched, not only usage: an admin
-- deduction, an expiration swept by expire_tokens, and a drip cycle that expires more than it
-- drips. Credits never alert.
begin;
select plan(4);
set local timezone to 'UTC';

select tests.create_user('alerts-kinds-deduct@example.test', '00000000-0000-4000-8a06-000000000001');
select tests.create_user('alerts-kinds-expire@example.test', '00000000-0000-4000-8a06-000000000002');
select tests.create_user('alerts-kinds-drip@example.test', '00000000-0000-4000-8a06-000000000003');
select public.update_ledger_settings('{"low_balance_threshold": 1000}');

-- a deduction
select public.grant_tokens('00000000-0000-4000-8a06-000000000001', 1500, 'admin_grant', 'alerts-kinds-g1');
select public.grant_tokens('00000000-0000-4000-8a06-000000000001', 600, 'admin_deduction', 'alerts-kinds-d1');
select results_eq(
  $$select a.entry_kind, a.available_before, a.available_after from public.token_alerts a
     where a.user_id = '00000000-0000-4000-8a06-000000000001'$$,
  $$values ('transaction'::text, 1500::bigint, 900::bigint)$$, 'an admin deduction that crosses alerts');

-- an expiration
select public.grant_tokens('00000000-0000-4000-8a06-000000000002', 700, 'admin_grant', 'alerts-kinds-g2');
select public.grant_tokens('00000000-0000-4000-8a06-000000000002', 800, 'trial_grant', 'alerts-kinds-g3', null, now() + interval '1 day');
select public.expire_tokens(now() + interval '2 days');
select results_eq(
  $$select a.entry_kind, a.available_before, a.available_after, t.transaction_type from public.token_alerts a
      join public.token_transactions t on t.id = a.entry_id
     where a.user_id = '00000000-0000-4000-8a06-000000000002'$$,
  $$values ('transaction'::text, 1500::bigint, 700::bigint, 'expiration'::text)$$, 'an expiration that crosses alerts');

-- a drip cycle whose expiry outweighs its drip (the plan changed to a smaller drip)
insert into public.subscription_plans (id, drip_tokens, drip_interval, max_rollover_cycles)
values ('alerts-kinds-big', 5000, interval '28 days', 0), ('alerts-kinds-small', 100, interval '28 days', 0);
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-8a06-0000000000a3', '00000000-0000-4000-8a06-000000000003', 'alerts-kinds-big', 'active',
        now() - interval '28 days');
select public.run_drip('00000000-0000-4000-8a06-0000000000a3', now() - interval '28 days');
update public.customer_subscriptions set plan_id = 'alerts-kinds-small' where id = '00000000-0000-4000-8a06-0000000000a3';
select public.run_drip('00000000-0000-4000-8a06-0000000000a3', now());
select results_eq(
  $$select a.entry_kind, a.available_before, a.available_after, d.cycle_number from public.token_alerts a
      join public.token_drips d on d.id = a.entry_id
     where a.user_id = '00000000-0000-4000-8a06-000000000003'$$,
  $$values ('drip'::text, 5000::bigint, 100::bigint, 2)$$, 'a drip row that lowers the balance across the threshold alerts');

select is((select count(*) from public.token_alerts
            where user_id in ('00000000-0000-4000-8a06-000000000001', '00000000-0000-4000-8a06-000000000002',
                              '00000000-0000-4000-8a06-000000000003')),
  3::bigint, 'the grants and the first drip (credits) wrote no alert');

select * from finish();
rollback;
