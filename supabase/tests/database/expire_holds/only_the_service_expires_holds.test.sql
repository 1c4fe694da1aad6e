-- Only the service expires holds: EXECUTE is granted to service_role alone; anon, signed-in
-- users and admins get 42501. A superuser session (pg_cron) counts as the service.
begin;
select plan(6);
-- `supabase test db` runs on the dev database, which may hold lapsed holds of its own: sweep
-- every hold that could lapse within the times used below first, so the counts are this file's.
select public.expire_holds(now() + interval '1 day');

select tests.create_user('eh-roles-alice@example.test', '00000000-0000-4000-b403-000000000001', 100);
select tests.create_user('eh-roles-admin@example.test', '00000000-0000-4000-b403-000000000002');
select public.reserve_tokens('chat', 10, 'lapsed', '00000000-0000-4000-b403-000000000001');
update public.token_holds set expires_at = now() - interval '1 second' where user_id = '00000000-0000-4000-b403-000000000001';

select is(tests.execute_grantees('public.expire_holds(timestamptz)'), 'service_role', 'only service_role has EXECUTE on expire_holds');
select is(tests.outcomes_by_caller($$select public.expire_holds(now())$$, '00000000-0000-4000-b403-000000000001', '00000000-0000-4000-b403-000000000002'),
  'anon: error 42501, user: error 42501, admin: error 42501', 'anon, a signed-in user and an admin cannot expire holds');
select is((select status from public.token_holds where user_id = '00000000-0000-4000-b403-000000000001'), 'held',
  'the refused calls expired nothing');

select tests.authenticate_as_service_role();
select is(public.expire_holds(now()) ->> 'holds_expired', '1', 'the service expires the lapsed hold');
select tests.clear_authentication();
select is((select status from public.token_holds where user_id = '00000000-0000-4000-b403-000000000001'), 'expired', 'it is expired');
select is(public.expire_holds() ->> 'holds_expired', '0', 'a superuser session may run it too (p_as_of defaults to now)');

select * from finish();
rollback;
