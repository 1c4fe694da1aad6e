-- Only the service sweeps expired tokens: anon, a signed-in user and an admin get 42501 and
-- nothing is written; service_role (and a session that did not switch role, as pg_cron's
-- job does) may.
begin;
select plan(11);
set local timezone to 'UTC';

select tests.freeze_other_lots();

insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-4000-d304-000000000001', 'et-roles-alice@example.test', '{}'),
  ('00000000-0000-4000-d304-000000000002', 'et-roles-admin@example.test', '{"role": "admin"}');
select public.grant_tokens('00000000-0000-4000-d304-000000000001', 100, 'trial_grant', 'et-roles-trial-1', null, now() + interval '1 day');
select public.grant_tokens('00000000-0000-4000-d304-000000000001', 50, 'trial_grant', 'et-roles-trial-2', null, now() + interval '2 days');

select function_privs_are('public', 'expire_tokens', array['timestamp with time zone'], 'anon', '{}'::text[],
  'anon has no EXECUTE on expire_tokens');
select function_privs_are('public', 'expire_tokens', array['timestamp with time zone'], 'authenticated', '{}'::text[],
  'authenticated has no EXECUTE on expire_tokens');
select function_privs_are('public', 'expire_tokens', array['timestamp with time zone'], 'service_role', array['EXECUTE'],
  'service_role has EXECUTE on expire_tokens');

select tests.authenticate_as_anon();
select throws_ok($$select public.expire_tokens(now() + interval '3 days')$$, '42501', null, 'anon cannot sweep');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-d304-000000000001');
select throws_ok($$select public.expire_tokens(now() + interval '3 days')$$, '42501', null, 'a signed-in user cannot sweep');
select tests.clear_authentication();

select tests.authenticate_as_admin('00000000-0000-4000-d304-000000000002');
select throws_ok($$select public.expire_tokens(now() + interval '3 days')$$, '42501', null, 'an admin cannot sweep');
select tests.clear_authentication();

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
