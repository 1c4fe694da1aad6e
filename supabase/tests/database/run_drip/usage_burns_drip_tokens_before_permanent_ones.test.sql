-- Usage burns drip tokens before purchased or granted permanent tokens: the drip lot expires,
-- permanent lots never do. A lot that expires even sooner (a trial grant) goes first of all.
begin;
select plan(8);
set local timezone to 'UTC';

select tests.create_user('rd-burn@example.test', '00000000-0000-4000-d104-000000000001');
-- permanent tokens first: an admin grant and a purchase (no expiry)
select public.grant_tokens('00000000-0000-4000-d104-000000000001', 1000, 'admin_grant', 'rd-burn-grant');
select public.record_purchase('00000000-0000-4000-d104-000000000001', 'pack_small', 'rd-burn-purchase', 999, 'usd');
-- then the drip (expires in 56 days) and a trial grant that expires tomorrow
select tests.create_subscription('00000000-0000-4000-d104-0000000000a1', '00000000-0000-4000-d104-000000000001');
select public.run_drip('00000000-0000-4000-d104-0000000000a1', now());
select public.grant_tokens('00000000-0000-4000-d104-000000000001', 5000, 'trial_grant', 'rd-burn-trial', null, now() + interval '1 day');

select is(tests.lot_history('00000000-0000-4000-d104-000000000001'), array[
    'drip 1: 375000/375000, day 0 -> 56', 'trial_grant: 5000/5000, day 0 -> 1',
    'admin_grant: 1000/1000, day 0 -> never', 'purchase: 100000/100000, day 0 -> never'],
  'four lots: trial (1 day), drip (56 days), admin grant and purchase (permanent)');

select is((public.record_usage('chat', 6000, 'rd-burn-1', '00000000-0000-4000-d104-000000000001') ->> 'balance_after')::bigint,
  475000::bigint, 'spend 6,000');
-- after each spend the first two lots (drip, trial) are shown: with the balance, they say that
-- the permanent lots (101,000) are untouched
select is((tests.lot_history('00000000-0000-4000-d104-000000000001'))[1:2],
  array['drip 1: 374000/375000, day 0 -> 56', 'trial_grant: 0/5000, day 0 -> 1'],
  'the trial grant went first (it expires soonest), then the drip; the permanent lots are untouched');

select is((public.record_usage('chat', 300000, 'rd-burn-2', '00000000-0000-4000-d104-000000000001') ->> 'balance_after')::bigint,
  175000::bigint, 'spend 300,000');
select is((tests.lot_history('00000000-0000-4000-d104-000000000001'))[1:2],
  array['drip 1: 74000/375000, day 0 -> 56', 'trial_grant: 0/5000, day 0 -> 1'],
  'the drip lot pays for usage although the purchase and the grant are older');

select is((public.record_usage('chat', 74500, 'rd-burn-3', '00000000-0000-4000-d104-000000000001') ->> 'balance_after')::bigint,
  100500::bigint, 'spend 74,500');
select results_eq(
  $$select (select remaining from public.token_lots where user_id = '00000000-0000-4000-d104-000000000001' and source = 'drip'),
           (select sum(remaining) from public.token_lots where user_id = '00000000-0000-4000-d104-000000000001' and expires_at is null)::bigint$$,
  $$values (0::bigint, 100500::bigint)$$,
  'only when the drip lot is empty does usage reach the permanent tokens (500 of them)');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d104-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
