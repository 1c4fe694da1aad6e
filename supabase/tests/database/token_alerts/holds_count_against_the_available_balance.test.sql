-- Alerts watch the available balance (balance minus active holds): a reservation that takes
-- it below the threshold alerts; settling a hold for less than it held raises the available
-- balance and alerts nothing, although the balance fell; settling for more crosses like usage.
begin;
select plan(6);

select tests.create_user('alerts-holds@example.test', '00000000-0000-4000-8a05-000000000001');
select public.set_low_balance_threshold(1000, '00000000-0000-4000-8a05-000000000001');
select public.grant_tokens('00000000-0000-4000-8a05-000000000001', 3000, 'admin_grant', 'alerts-holds-g1');

-- available 3000 -> 1500: above; then settle 100 of it: balance 2900, available 2900
select set_config('test.h1', public.reserve_tokens('chat', 1500, 'alerts-holds-r1', '00000000-0000-4000-8a05-000000000001') ->> 'hold_id', true);
select public.settle_hold(current_setting('test.h1')::uuid, 100);
select is((select count(*) from public.token_alerts where user_id = '00000000-0000-4000-8a05-000000000001'), 0::bigint,
  'a settle below its hold raises the available balance: no alert although the balance fell');

-- reserve 2000 of 2900: available 900 < 1000
select set_config('test.h2', public.reserve_tokens('chat', 2000, 'alerts-holds-r2', '00000000-0000-4000-8a05-000000000001') ->> 'hold_id', true);
select results_eq(
  $$select available_before, available_after, balance_after, held, entry_kind, entry_id
      from public.token_alerts where user_id = '00000000-0000-4000-8a05-000000000001'$$,
  $$values (2900::bigint, 900::bigint, 2900::bigint, 2000::bigint, 'hold'::text, current_setting('test.h2')::uuid)$$,
  'a reservation that takes available below the threshold alerts, naming the hold');

-- release: available back to 2900 (re-armed); reserve 1000 and use 1000 more than held
select public.release_hold(current_setting('test.h2')::uuid);
select set_config('test.h3', public.reserve_tokens('chat', 1000, 'alerts-holds-r3', '00000000-0000-4000-8a05-000000000001') ->> 'hold_id', true);
select is((select count(*) from public.token_alerts where user_id = '00000000-0000-4000-8a05-000000000001'), 1::bigint,
  'after a release, a reservation that stays at or above the threshold (1900) alerts nothing');
select public.settle_hold(current_setting('test.h3')::uuid, 2000);
select results_eq(
  $$select available_before, available_after, balance_after, held, entry_kind
      from public.token_alerts where user_id = '00000000-0000-4000-8a05-000000000001' and entry_kind = 'usage'$$,
  $$values (1900::bigint, 900::bigint, 900::bigint, 0::bigint, 'usage'::text)$$,
  'a settle beyond its hold crosses like usage: available 1900 before (the hold counted), 900 after');

-- other holds count on a plain usage
select public.grant_tokens('00000000-0000-4000-8a05-000000000001', 2100, 'admin_grant', 'alerts-holds-g2');
select public.reserve_tokens('chat', 1500, 'alerts-holds-r4', '00000000-0000-4000-8a05-000000000001');
select public.record_usage('chat', 600, 'alerts-holds-u1', '00000000-0000-4000-8a05-000000000001');
select results_eq(
  $$select available_before, available_after, balance_after, held
      from public.token_alerts
     where entry_id = (select id from public.token_usage where idempotency_key = 'alerts-holds-u1')$$,
  $$values (1500::bigint, 900::bigint, 2400::bigint, 1500::bigint)$$,
  'usage with another hold active: the hold is subtracted (balance 2400, available 900)');
select is((select count(*) from public.token_alerts where user_id = '00000000-0000-4000-8a05-000000000001'), 3::bigint,
  'three crossings, three alerts');

select * from finish();
rollback;
