-- An admin_deduction (grant_tokens) takes only what is available: held tokens are refused
-- with PT402 and nothing is written; what is not held may be deducted.
begin;
select plan(4);

select tests.create_user('th-ded-alice@example.test', '00000000-0000-4000-b504-000000000001', 100);
select tests.create_user('th-ded-admin@example.test', '00000000-0000-4000-b504-000000000002');
select public.reserve_tokens('chat', 70, 'th-ded-hold', '00000000-0000-4000-b504-000000000001');

select tests.authenticate_as_admin('00000000-0000-4000-b504-000000000002');
select is(tests.error_summary($$select public.grant_tokens('00000000-0000-4000-b504-000000000001', 31, 'admin_deduction', 'th-ded-1')$$),
  'PT402 Insufficient tokens. (balance: 30, required: 31)',
  'an admin cannot deduct held tokens: the refusal reports the available tokens');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select throws_ok($$select public.grant_tokens('00000000-0000-4000-b504-000000000001', 31, 'admin_deduction', 'th-ded-2')$$,
  'PT402', null, 'nor can the service');
select is(public.grant_tokens('00000000-0000-4000-b504-000000000001', 30, 'admin_deduction', 'th-ded-3') ->> 'balance_after', '70',
  'what is not held may be deducted');
select tests.clear_authentication();
select results_eq(
  $$select (select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-b504-000000000001'),
           (select balance from public.token_balances where user_id = '00000000-0000-4000-b504-000000000001'),
           (public.get_token_balance('00000000-0000-4000-b504-000000000001') ->> 'available')::bigint$$,
  $$values (2, 70::bigint, 0::bigint)$$, 'only the allowed deduction was written; the hold keeps its 70');

select * from finish();
rollback;
