-- A drip repays debt first, as every credit does: the lot keeps only what is left after the
-- repayment, balance_before/after show the debt, and once the debt is gone the next drips
-- are spendable in full.
--   start: 500,000 in debt (balance -500,000)
--   cycle 1: +375,000, all of it repays debt          -> -125,000 (debt 125,000), lot 0
--   cycle 2: +375,000, 125,000 repay the rest          -> 250,000, lot 250,000
--   cycle 3: carries 250,000, +375,000                 -> 625,000
begin;
select plan(5);
set local timezone to 'UTC';

select tests.create_user_in_debt('rd-debt@example.test', '00000000-0000-4000-d119-000000000001', 500000);
select tests.create_subscription('00000000-0000-4000-d119-0000000000a1', '00000000-0000-4000-d119-000000000001');

select is((public.run_drip('00000000-0000-4000-d119-0000000000a1', now()) ->> 'balance_after')::bigint, -125000::bigint,
  'cycle 1 goes to the debt');
select is(tests.balance_and_debt('00000000-0000-4000-d119-000000000001'), 'balance=-125000 debt=125000', '125,000 still owed');
select public.run_drip('00000000-0000-4000-d119-0000000000a1', now() + interval '28 days');
select public.run_drip('00000000-0000-4000-d119-0000000000a1', now() + interval '56 days');

select results_eq(
  $$select cycle_number, drip_amount, rollover_from_previous, rollover_cycles_count, expired_tokens, balance_before, balance_after
      from public.token_drips where subscription_id = '00000000-0000-4000-d119-0000000000a1' order by cycle_number$$,
  $$values (1, 375000::bigint,      0::bigint, 0, 0::bigint, -500000::bigint, -125000::bigint),
           (2, 375000::bigint,      0::bigint, 0, 0::bigint, -125000::bigint,  250000::bigint),
           (3, 375000::bigint, 250000::bigint, 1, 0::bigint,  250000::bigint,  625000::bigint)$$,
  'the rows show the debt being repaid');
select results_eq(
  $$select d.cycle_number, l.original, l.remaining from public.token_lots l join public.token_drips d on d.id = l.drip_id
     where l.user_id = '00000000-0000-4000-d119-000000000001' order by d.cycle_number$$,
  $$values (1, 375000::bigint, 0::bigint), (2, 375000::bigint, 250000::bigint), (3, 375000::bigint, 375000::bigint)$$,
  'the lots hold only what the repayment left');
select is(tests.verified_balance('00000000-0000-4000-d119-000000000001'), 'balance=625000 debt=0', 'debt repaid; the ledger is consistent');

select * from finish();
rollback;
