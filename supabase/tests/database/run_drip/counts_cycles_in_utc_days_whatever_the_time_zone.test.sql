-- Cycles are counted in UTC days of exactly 24 hours, whatever the session's time zone: in
-- Europe/Berlin, whose clocks go forward at the end of March, a 28-day cycle that spans the
-- change is still 672 hours long (anchor + interval '28 days' computed in Berlin would be
-- an hour short). The anchor is the 20 March at 12:00 UTC nearest to now (the as-of times
-- must lie within 366 days of now).
begin;
select plan(6);
set local timezone to 'Europe/Berlin';

select tests.create_user('rd-utc@example.test', '00000000-0000-4000-d116-000000000001');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-d116-0000000000a1', '00000000-0000-4000-d116-000000000001', 'default', 'active',
        make_timestamptz(extract(year from now() + interval '183 days')::int, 3, 20, 12, 0, 0, 'UTC'));
select set_config('test.anchor', (select drip_anchor::text from public.customer_subscriptions where id = '00000000-0000-4000-d116-0000000000a1'), true);

select is((public.run_drip('00000000-0000-4000-d116-0000000000a1', current_setting('test.anchor')::timestamptz) ->> 'cycles_issued')::int, 1,
  'cycle 1 at the anchor');
select is(
  (select billing_period_end from public.token_drips where subscription_id = '00000000-0000-4000-d116-0000000000a1'),
  current_setting('test.anchor')::timestamptz + interval '672 hours',
  'cycle 1 ends 672 hours after the anchor, across the daylight-saving change');
select is((public.run_drip('00000000-0000-4000-d116-0000000000a1', current_setting('test.anchor')::timestamptz + interval '28 days') ->> 'cycles_issued')::int, 0,
  'Berlin''s "28 days later" (671 hours) is still cycle 1');
select is((public.run_drip('00000000-0000-4000-d116-0000000000a1', current_setting('test.anchor')::timestamptz + interval '672 hours') ->> 'cycles_issued')::int, 1,
  'cycle 2 starts 672 hours after the anchor');
select results_eq(
  $$select expires_at from public.token_lots where user_id = '00000000-0000-4000-d116-000000000001' order by expires_at$$,
  $$values (current_setting('test.anchor')::timestamptz + interval '1344 hours'),
           (current_setting('test.anchor')::timestamptz + interval '2016 hours')$$,
  'lots expire on the same 24-hour-day grid');

select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d116-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
