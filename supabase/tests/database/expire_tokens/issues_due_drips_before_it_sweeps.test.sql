-- expire_tokens issues a user's due drips before it sweeps: a drip lot that lapses at a cycle
-- boundary is expired in that cycle's token_drips row (expired_tokens), not by an
-- `expiration` transaction; other lapsed lots (a trial grant) still get one.
begin;
select plan(6);
set local timezone to 'UTC';

select tests.freeze_other_lots();

select tests.create_dripping_subscriber('et-drips-first@example.test', '00000000-0000-4000-d302-000000000001', '00000000-0000-4000-d302-0000000000a1');
select public.grant_tokens('00000000-0000-4000-d302-000000000001', 1000, 'trial_grant', 'et-drips-first-trial', null, now() + interval '1 day');

-- As of day 56, cycle 1's lot lapses (it expires when cycle 2 ends) and so has the trial.
select is(public.expire_tokens(now() + interval '56 days'), '{"users": 1, "tokens_expired": 1000}'::jsonb,
  'the sweep reports the trial grant only');
select results_eq(
  $$select cycle_number, rollover_from_previous, expired_tokens, balance_before, balance_after
      from public.token_drips where subscription_id = '00000000-0000-4000-d302-0000000000a1' order by cycle_number$$,
  $$values (1, 0::bigint, 0::bigint, 0::bigint, 375000::bigint),
           (2, 375000::bigint, 0::bigint, 376000::bigint, 751000::bigint),
           (3, 375000::bigint, 375000::bigint, 751000::bigint, 751000::bigint)$$,
  'cycles 2 and 3 were issued first; cycle 3 records cycle 1''s lapsed 375,000');
-- (Their balance_before still counts the trial's 1,000: the sweep of other lapsed lots runs
-- after the drips, so the rows chain on the stored balance as it was.)
select results_eq(
  $$select token_amount, balance_before, balance_after, metadata ->> 'lot_source' from public.token_transactions
     where user_id = '00000000-0000-4000-d302-000000000001' and transaction_type = 'expiration'$$,
  $$values (-1000::bigint, 751000::bigint, 750000::bigint, 'trial_grant'::text)$$,
  'one expiration transaction, for the trial grant; none for the drip lot');
select is(tests.balance_and_debt('00000000-0000-4000-d302-000000000001'), 'balance=750000 debt=0', 'the balance holds cycles 2 and 3');
select is(tests.drip_schedule('00000000-0000-4000-d302-0000000000a1'), 'cycle 4 at day 84', 'the schedule moved on with the drips');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d302-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
