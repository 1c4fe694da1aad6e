-- Draining the outbox: claim_token_alerts hands out undelivered alerts oldest first and
-- leases them (a second drainer does not get them while the lease runs; it gets them again
-- once the lease has run out); mark_token_alerts_delivered marks them, once. Bad arguments
-- are 22023 and change nothing. A drainer gets at most p_limit alerts whichever plan the
-- planner picks: the pick was an IN (subquery) that a nested-loop semi join ran again for every
-- alert, each rescan skipping the rows the UPDATE had just claimed, so asking for 2 of 3 leased
-- all 3 (seen on a dev database with one more alert). The planner is pushed to that plan here.
begin;
select plan(12);
-- `supabase test db` runs on the dev database, whose outbox may hold undelivered alerts: mark
-- them delivered first (rolled back with the rest), so the queue holds only this file's.
update public.token_alerts set delivered_at = now() where delivered_at is null;

select tests.create_user('alerts-drain@example.test', '00000000-0000-4000-8a09-000000000001');
select public.set_low_balance_threshold(10, '00000000-0000-4000-8a09-000000000001');
-- three crossings: 10 -> 9, back to 10, -> 9, back to 10, -> 9
select public.grant_tokens('00000000-0000-4000-8a09-000000000001', 10, 'admin_grant', 'alerts-drain-g0');
select public.record_usage('chat', 1, 'alerts-drain-u1', '00000000-0000-4000-8a09-000000000001');
select public.grant_tokens('00000000-0000-4000-8a09-000000000001', 1, 'admin_grant', 'alerts-drain-g1');
select public.record_usage('chat', 1, 'alerts-drain-u2', '00000000-0000-4000-8a09-000000000001');
select public.grant_tokens('00000000-0000-4000-8a09-000000000001', 1, 'admin_grant', 'alerts-drain-g2');
select public.record_usage('chat', 1, 'alerts-drain-u3', '00000000-0000-4000-8a09-000000000001');
-- only this test's alerts are undelivered (others' test data rolls back)
select is((select count(*) from public.token_alerts where delivered_at is null), 3::bigint, 'three undelivered alerts');

set local enable_hashjoin = off;
set local enable_mergejoin = off;
select tests.authenticate_as_service_role();
create temporary table claimed as select * from public.claim_token_alerts(2, 60);
select is((select count(*) from claimed), 2::bigint, 'a drainer claims two');
select is((select array_agg(attempts) from claimed), array[1, 1], 'each claimed once');
select is((select count(*) from public.claim_token_alerts(10, 60)), 1::bigint, 'a second drainer gets only the third');
select is((select count(*) from public.claim_token_alerts(10, 60)), 0::bigint, 'nothing left to claim while leased');

select is(public.mark_token_alerts_delivered((select array_agg(id) from claimed)), '{"marked": 2, "already_delivered": 0}'::jsonb,
  'the first drainer marks its two delivered');
select is(public.mark_token_alerts_delivered((select array_agg(id) from claimed)), '{"marked": 0, "already_delivered": 2}'::jsonb,
  'marking again changes nothing');
select tests.clear_authentication();
select is((select count(*) from public.token_alerts a join claimed c using (id) where a.delivered_at is not null), 2::bigint,
  'they are delivered');

-- the third's lease runs out (as if its drainer died): it is handed out again
update public.token_alerts set claimed_until = now() - interval '1 second' where delivered_at is null;
select tests.authenticate_as_service_role();
select is((select attempts from public.claim_token_alerts(10, 60)), 2, 'an expired lease is claimed again (attempt 2)');

select throws_ok($$select * from public.claim_token_alerts(0, 60)$$, '22023', null, 'p_limit 0 is refused');
select throws_ok($$select * from public.claim_token_alerts(10, 0)$$, '22023', null, 'a lease of 0 s is refused');
select throws_ok($$select public.mark_token_alerts_delivered(array[gen_random_uuid()])$$, '22023', null,
  'an unknown alert id is refused');

select * from finish();
rollback;
