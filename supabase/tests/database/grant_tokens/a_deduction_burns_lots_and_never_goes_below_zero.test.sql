-- admin_deduction takes tokens away: a negative transaction that burns lots in burn order
-- and creates no lot; it may not take the balance below zero (PT402) and has no expiry.
begin;
select plan(13);

select tests.create_user('gt-deduct-alice@example.test', '00000000-0000-4000-8202-000000000001');
select public.grant_tokens('00000000-0000-4000-8202-000000000001', 100, 'admin_grant', 'gt-deduct-perm');
select public.grant_tokens('00000000-0000-4000-8202-000000000001', 20, 'trial_grant', 'gt-deduct-trial', null, now() + interval '7 days');

select tests.authenticate_as_service_role();
select set_config('test.d', public.grant_tokens('00000000-0000-4000-8202-000000000001', 30, 'admin_deduction', 'gt-deduct-1',
  'chargeback review', null, '{"ticket":42}')::text, true);
select tests.clear_authentication();

select is(current_setting('test.d')::jsonb - 'transaction_id',
  '{"user_id":"00000000-0000-4000-8202-000000000001","transaction_type":"admin_deduction","token_amount":-30,
    "balance_before":120,"balance_after":90,"replayed":false}'::jsonb,
  'the result shows a negative token_amount');
select results_eq(
  $$select transaction_type, token_amount, balance_before, balance_after, source, expires_at, metadata
      from public.token_transactions where id = (current_setting('test.d')::jsonb ->> 'transaction_id')::uuid$$,
  $$values ('admin_deduction'::text, -30::bigint, 120::bigint, 90::bigint, 'chargeback review'::text, null::timestamptz, '{"ticket":42}'::jsonb)$$,
  'the transaction row records the deduction');
select results_eq(
  $$select t.idempotency_key, l.remaining from public.token_lots l join public.token_transactions t on t.id = l.transaction_id
     where l.user_id = '00000000-0000-4000-8202-000000000001' order by t.idempotency_key$$,
  $$values ('gt-deduct-perm'::text, 90::bigint), ('gt-deduct-trial'::text, 0::bigint)$$,
  'the expiring lot was burned first, then the permanent one');
select is(tests.ledger_footprint('00000000-0000-4000-8202-000000000001'),
  'balance=90 lots=2 remaining=90 transactions=3', 'a deduction makes no lot');

-- more than the balance
select tests.authenticate_as_service_role();
select is(tests.error_summary($$select public.grant_tokens('00000000-0000-4000-8202-000000000001', 91, 'admin_deduction', 'gt-deduct-2')$$),
  'PT402 Insufficient tokens. (balance: 90, required: 91)',
  'a deduction below zero is refused: the detail gives the balance and the requirement');
-- no expiry on a deduction
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8202-000000000001', 1, 'admin_deduction', 'gt-deduct-3',
  null, now() + interval '1 day')$$, '22023', null, 'a deduction with p_expires_at is rejected');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8202-000000000001'),
  'balance=90 lots=2 remaining=90 transactions=3', 'the refused deductions wrote nothing');

-- a refused deduction does not use up its key; deducting everything is allowed
select tests.authenticate_as_service_role();
select is((public.grant_tokens('00000000-0000-4000-8202-000000000001', 90, 'admin_deduction', 'gt-deduct-2') ->> 'balance_after')::bigint,
  0::bigint, 'the whole balance may be deducted, with the key of the refused attempt');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8202-000000000001'),
  'balance=0 lots=2 remaining=0 transactions=4', 'every lot is empty');

-- lapsed tokens cannot be deducted: they expire first
select public.grant_tokens('00000000-0000-4000-8202-000000000001', 40, 'trial_grant', 'gt-deduct-lapsed', null, now() + interval '1 day');
select public.grant_tokens('00000000-0000-4000-8202-000000000001', 10, 'admin_grant', 'gt-deduct-perm-2');
update public.token_lots l set expires_at = now() - interval '1 minute'
  from public.token_transactions t where t.id = l.transaction_id and t.idempotency_key = 'gt-deduct-lapsed';
select tests.authenticate_as_service_role();
select is(tests.error_detail($$select public.grant_tokens('00000000-0000-4000-8202-000000000001', 11, 'admin_deduction', 'gt-deduct-4')$$),
  'balance: 10, required: 11', 'only live tokens can be deducted');
select is((public.grant_tokens('00000000-0000-4000-8202-000000000001', 10, 'admin_deduction', 'gt-deduct-4') ->> 'balance_before')::bigint,
  10::bigint, 'a deduction starts from the balance after the lapsed lot expired');
select tests.clear_authentication();
select is(
  (select token_amount from public.token_transactions
    where user_id = '00000000-0000-4000-8202-000000000001' and transaction_type = 'expiration'),
  -40::bigint, 'the lapsed lot left through an expiration transaction');
select is_empty(
  $$select * from public.verify_token_ledger('00000000-0000-4000-8202-000000000001')$$,
  'the ledger is consistent');

select * from finish();
rollback;
