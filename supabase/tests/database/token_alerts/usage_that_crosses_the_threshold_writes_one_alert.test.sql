-- A change that takes the available balance from at or above the threshold to below it
-- writes one alert in its own transaction; further falls below write none; a rise to the
-- threshold or above re-arms, and the next fall below alerts again.
begin;
select plan(9);

select tests.create_user('alerts-cross@example.test', '00000000-0000-4000-8a04-000000000001');
select public.set_low_balance_threshold(1000, '00000000-0000-4000-8a04-000000000001');
select public.grant_tokens('00000000-0000-4000-8a04-000000000001', 3000, 'admin_grant', 'alerts-cross-g1');

create function pg_temp.alerts() returns bigint language sql as $$
  select count(*) from public.token_alerts where user_id = '00000000-0000-4000-8a04-000000000001' $$;

select public.record_usage('chat', 2000, 'alerts-cross-u1', '00000000-0000-4000-8a04-000000000001');
select is(pg_temp.alerts(), 0::bigint, 'down to exactly the threshold (1000): no alert');
select public.record_usage('chat', 1, 'alerts-cross-u2', '00000000-0000-4000-8a04-000000000001');
select results_eq(
  $$select threshold, available_before, available_after, balance_after, held, entry_kind, entry_id, delivered_at
      from public.token_alerts where user_id = '00000000-0000-4000-8a04-000000000001'$$,
  $$select 1000::bigint, 1000::bigint, 999::bigint, 999::bigint, 0::bigint, 'usage'::text, u.id, null::timestamptz
      from public.token_usage u where u.idempotency_key = 'alerts-cross-u2'$$,
  'one below the threshold: one alert naming the usage row, with the available balance before and after');
select public.record_usage('chat', 500, 'alerts-cross-u3', '00000000-0000-4000-8a04-000000000001');
select public.record_usage('chat', 499, 'alerts-cross-u4', '00000000-0000-4000-8a04-000000000001');
select is(pg_temp.alerts(), 1::bigint, 'further falls below the threshold, down to 0: still one alert');

select public.grant_tokens('00000000-0000-4000-8a04-000000000001', 999, 'admin_grant', 'alerts-cross-g2');
select public.record_usage('chat', 10, 'alerts-cross-u5', '00000000-0000-4000-8a04-000000000001');
select is(pg_temp.alerts(), 1::bigint, 'a rise that stays below (999) does not re-arm');

select public.grant_tokens('00000000-0000-4000-8a04-000000000001', 11, 'admin_grant', 'alerts-cross-g3');
select is((public.get_token_balance('00000000-0000-4000-8a04-000000000001') ->> 'available')::bigint, 1000::bigint,
  'back to exactly the threshold');
select is(pg_temp.alerts(), 1::bigint, 'a rise writes no alert');
select public.record_usage('chat', 1, 'alerts-cross-u6', '00000000-0000-4000-8a04-000000000001');
select is(pg_temp.alerts(), 2::bigint, 're-armed: the next fall below is a new crossing and a new alert');

-- a replay writes nothing, so it alerts nothing
select public.record_usage('chat', 1, 'alerts-cross-u6', '00000000-0000-4000-8a04-000000000001');
select is(pg_temp.alerts(), 2::bigint, 'a replayed usage writes no alert');

-- a refused change writes nothing
select throws_ok($$select public.record_usage('chat', 1000000, 'alerts-cross-u7', '00000000-0000-4000-8a04-000000000001')$$,
  'PT402', null, 'an insufficient usage is refused (and writes no alert)');

select * from finish();
rollback;
