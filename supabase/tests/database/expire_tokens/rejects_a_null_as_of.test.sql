-- expire_tokens rejects a null as-of with 22023 and writes nothing.
begin;
select plan(4);
set local timezone to 'UTC';

select tests.freeze_other_lots();

select tests.create_user('et-bad@example.test', '00000000-0000-4000-d305-000000000001');
select public.grant_tokens('00000000-0000-4000-d305-000000000001', 100, 'trial_grant', 'et-bad-trial', null, now() + interval '1 day');

select tests.authenticate_as_service_role();
select throws_ok($$select public.expire_tokens(null)$$, '22023', 'p_as_of is required.', 'a null as-of is rejected');
select tests.clear_authentication();
select results_eq(
  $$select (select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-d305-000000000001'),
           (select remaining from public.token_lots where user_id = '00000000-0000-4000-d305-000000000001'),
           (select balance from public.token_balances where user_id = '00000000-0000-4000-d305-000000000001')$$,
  $$values (1, 100::bigint, 100::bigint)$$, 'nothing was written');
select tests.authenticate_as_service_role();
select is(public.expire_tokens(now() + interval '2 days'), '{"users": 1, "tokens_expired": 100}'::jsonb, 'a good call still works');
select tests.clear_authentication();
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d305-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
