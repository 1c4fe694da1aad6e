-- Who may grant or deduct: the service and admins (app_metadata.role = admin), for anyone.
-- anon has no EXECUTE; a signed-in user may not, not for itself, not for others, not by
-- claiming admin in user_metadata.
begin;
select plan(19);

select tests.create_user('gt-roles-alice@example.test', '00000000-0000-4000-8205-000000000001');
select tests.create_user('gt-roles-bob@example.test', '00000000-0000-4000-8205-000000000002');
select tests.create_user('gt-roles-admin@example.test', '00000000-0000-4000-8205-000000000003');
select tests.create_user('gt-roles-mallory@example.test', '00000000-0000-4000-8205-000000000004');

-- anon
select ok(not has_function_privilege('anon', 'public.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb)', 'execute'),
  'anon has no EXECUTE on grant_tokens');
select tests.authenticate_as_anon();
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_grant', 'gt-roles-anon')$$,
  '42501', null, 'anon cannot grant');
select tests.clear_authentication();

-- a signed-in user
select tests.authenticate_as('00000000-0000-4000-8205-000000000001');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000001', 1, 'admin_grant', 'gt-roles-a1')$$,
  '42501', null, 'a user cannot grant itself tokens');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_grant', 'gt-roles-a2')$$,
  '42501', null, 'a user cannot grant another user tokens');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_deduction', 'gt-roles-a3')$$,
  '42501', null, 'a user cannot deduct another user''s tokens');
select tests.clear_authentication();

-- user_metadata is the user's own to write
select tests.authenticate_with_claims('{"sub": "00000000-0000-4000-8205-000000000004", "role": "authenticated", "user_metadata": {"role": "admin"}}');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000004', 1000, 'admin_grant', 'gt-roles-m1')$$,
  '42501', null, 'user_metadata.role = admin cannot grant itself tokens');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_grant', 'gt-roles-m2')$$,
  '42501', null, 'user_metadata.role = admin cannot grant others tokens');
select tests.clear_authentication();
-- app_metadata.role = admin in a claim that is not authenticated does nothing for anon
select tests.authenticate_with_claims('{"role": "anon", "app_metadata": {"role": "admin"}}');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8205-000000000002', 1, 'admin_grant', 'gt-roles-anon2')$$,
  '42501', null, 'anon with an admin claim still cannot grant');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-8205-000000000001'),
  'none', 'nothing was written for alice');
select is(tests.ledger_footprint('00000000-0000-4000-8205-000000000002'),
  'none', 'nothing was written for bob');
select is(tests.ledger_footprint('00000000-0000-4000-8205-000000000004'),
  'none', 'nothing was written for mallory');

-- an admin grants and deducts for anyone; the transaction names the admin
select tests.authenticate_as_admin('00000000-0000-4000-8205-000000000003');
select set_config('test.admin', public.grant_tokens('00000000-0000-4000-8205-000000000002', 40, 'admin_grant', 'gt-roles-c1')::text, true);
select is((public.grant_tokens('00000000-0000-4000-8205-000000000002', 15, 'admin_deduction', 'gt-roles-c2') ->> 'balance_after')::bigint,
  25::bigint, 'an admin deducts from another user');
-- (an admin is not barred from granting itself: the caller check is the role, not the target)
select is((public.grant_tokens('00000000-0000-4000-8205-000000000003', 5, 'admin_grant', 'gt-roles-c3') ->> 'balance_after')::bigint,
  5::bigint, 'an admin may grant itself');
select tests.clear_authentication();
select is((current_setting('test.admin')::jsonb ->> 'balance_after')::bigint, 40::bigint, 'an admin grants another user tokens');
select results_eq(
  $$select source, actor_id from public.token_transactions where idempotency_key = 'gt-roles-c1'$$,
  $$values ('admin'::text, '00000000-0000-4000-8205-000000000003'::uuid)$$,
  'the admin''s grant records source admin and the admin as actor');

-- the service grants for anyone; no actor
select tests.authenticate_as_service_role();
select is((public.grant_tokens('00000000-0000-4000-8205-000000000001', 7, 'trial_grant', 'gt-roles-s1', null, now() + interval '7 days') ->> 'balance_after')::bigint,
  7::bigint, 'the service grants tokens');
select tests.clear_authentication();
select results_eq(
  $$select source, actor_id from public.token_transactions where idempotency_key = 'gt-roles-s1'$$,
  $$values ('service'::text, null::uuid)$$,
  'the service''s grant records source service and no actor');
select is(tests.ledger_footprint('00000000-0000-4000-8205-000000000002'),
  'balance=25 lots=1 remaining=25 transactions=2', 'bob has the admin''s grant and deduction');
select is(tests.ledger_footprint('00000000-0000-4000-8205-000000000001'),
  'balance=7 lots=1 remaining=7 transactions=1', 'alice has the service''s grant');

select * from finish();
rollback;
