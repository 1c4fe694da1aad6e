-- Only the service sweeps expired tokens: anon, a signed-in user and an admin get 42501 and
-- nothing is written; service_role (and a session that did not switch role, as pg_cron's
-- job does) may.
begin;
select plan(7);
set local timezone to 'UTC';

select tests.freeze_other_lots();

-- alice, and bob, who acts as an admin (tests.caller_claims)
select tests.create_users('et-roles', '00000000-0000-4000-d304-000000000001', '00000000-0000-4000-d304-000000000002');
select public.grant_tokens('00000000-0000-4000-d304-000000000001', 100, 'trial_grant', 'et-roles-trial-1', null, now() + interval '1 day');
select public.grant_tokens('00000000-0000-4000-d304-000000000001', 50, 'trial_grant', 'et-roles-trial-2', null, now() + interval '2 days');

select is(tests.execute_grantees('public.expire_tokens(timestamptz)'), 'service_role', 'only service_role has EXECUTE on expire_tokens');
select is(tests.outcomes_by_caller($$select public.expire_tokens(now() + interval '3 days')$$, '00000000-0000-4000-d304-000000000001', '00000000-0000-4000-d304-000000000002'),
  'anon: error 42501, user: error 42501, admin: error 42501', 'anon, a signed-in user and an admin cannot sweep');

select is(tests.ledger_footprint('00000000-0000-4000-d304-000000000001'), 'balance=150 lots=2 remaining=150 transactions=2', 'the refused calls wrote nothing');

select tests.authenticate_as_service_role();
select is(public.expire_tokens(now() + interval '1 day'), '{"users": 1, "tokens_expired": 100}'::jsonb, 'service_role sweeps');
select tests.clear_authentication();
select is(public.expire_tokens(now() + interval '2 days'), '{"users": 1, "tokens_expired": 50}'::jsonb,
  'a session that did not switch role (pg_cron) sweeps like the service');
select is(tests.ledger_footprint('00000000-0000-4000-d304-000000000001'), 'balance=0 lots=2 remaining=0 transactions=4', 'two expiration transactions written');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d304-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
