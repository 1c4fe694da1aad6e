-- The balance row caches what the fast path of a spend checks instead of querying under the
-- lock: held (the tokens of the holds marked held) and next_due_at (no lot with tokens lapses,
-- no drip and no held hold lapses before it; lower is allowed, later never). Every change of a
-- hold moves held at once; whatever adds something that falls due lowers next_due_at; the full
-- path of a spend sets both exactly; writes by hand that move an expiry earlier set them again.
begin;
select plan(12);

select tests.create_user('tb-cache-alice@example.test', '00000000-0000-4000-8504-000000000001', 1000);
create function pg_temp.cache() returns text language sql as $$
  select format('held=%s due=%s', b.held,
    case when b.next_due_at in ('infinity', '-infinity') then b.next_due_at::text
         else to_char(b.next_due_at - now(), 'HH24:MI') end)
  from public.token_balances b where b.user_id = '00000000-0000-4000-8504-000000000001'
$$;

select is(pg_temp.cache(), 'held=0 due=-infinity', 'a new balance row sends the next spend through the full path');
select public.record_usage('chat', 1, 'tb-cache-u1', '00000000-0000-4000-8504-000000000001');
select is(pg_temp.cache(), 'held=0 due=infinity', 'the full path sets the cache exactly: nothing will fall due');

select set_config('test.h1', public.reserve_tokens('chat', 100, 'tb-cache-h1', '00000000-0000-4000-8504-000000000001', 7200) ->> 'hold_id', true);
select set_config('test.h2', public.reserve_tokens('chat', 50, 'tb-cache-h2', '00000000-0000-4000-8504-000000000001', 3600) ->> 'hold_id', true);
select is(pg_temp.cache(), 'held=150 due=01:00', 'reserves count at once; the soonest hold expiry is due');

select public.grant_tokens('00000000-0000-4000-8504-000000000001', 10, 'trial_grant', 'tb-cache-g1',
                           p_expires_at => now() + interval '30 minutes');
select is(pg_temp.cache(), 'held=150 due=00:30', 'a grant that will lapse lowers the due time');

select public.settle_hold(current_setting('test.h1')::uuid, 60);
select is(pg_temp.cache(), 'held=50 due=00:30', 'a settle takes its hold out of held');
select public.release_hold(current_setting('test.h2')::uuid);
select is(pg_temp.cache(), 'held=0 due=00:30', 'so does a release');

select set_config('test.h3', public.reserve_tokens('chat', 20, 'tb-cache-h3', '00000000-0000-4000-8504-000000000001', 60) ->> 'hold_id', true);
select is((public.expire_holds(now() + interval '2 minutes') ->> 'holds_expired')::int >= 1, true, 'the sweep closes the hold');
select is(pg_temp.cache(), 'held=0 due=00:01', 'and takes it out of held (the due time may stay earlier than needed)');

-- a subscription's first drip, and an expiry moved earlier by hand
insert into public.subscription_plans (id, drip_tokens, drip_interval) values ('tb_cache_plan', 100, interval '28 days');
insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-8504-000000000001', 'tb_cache_plan', 'active', now() + interval '10 seconds');
select is(pg_temp.cache(), 'held=0 due=00:00', 'a subscription lowers the due time to its first drip');
select public.grant_tokens('00000000-0000-4000-8504-000000000001', 10, 'trial_grant', 'tb-cache-g2',
                           p_expires_at => now() + interval '2 hours');
update public.token_lots set expires_at = now() - interval '1 second'
 where user_id = '00000000-0000-4000-8504-000000000001' and source = 'trial_grant' and remaining > 0;
select ok((select b.next_due_at <= now() from public.token_balances b where b.user_id = '00000000-0000-4000-8504-000000000001'),
  'an expiry moved into the past by hand makes the row due at once');
select is(public.record_usage('chat', 5, 'tb-cache-u2', '00000000-0000-4000-8504-000000000001') ->> 'balance_before', '949',
  'so the next spend takes the full path: the lapsed 10 leave first (1000 - 1 + 10 - 60 + 10 - 10)');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8504-000000000001')$$,
  'and the ledger explains every figure, the cache included');

select * from finish();
rollback;
