-- token_alerts: a user reads their own alerts (RLS), another user none, anon nothing at all;
-- the service reads all. Nobody writes the table directly, not even the service; when the
-- Supabase Realtime publication exists, the table is in it.
begin;
select plan(9);

select tests.create_users('alerts-rls', '00000000-0000-4000-8a08-000000000001', '00000000-0000-4000-8a08-000000000002');
select public.set_low_balance_threshold(10, '00000000-0000-4000-8a08-000000000001');
select public.grant_tokens('00000000-0000-4000-8a08-000000000001', 10, 'admin_grant', 'alerts-rls-g1');
select public.record_usage('chat', 1, 'alerts-rls-u1', '00000000-0000-4000-8a08-000000000001');

select tests.authenticate_as('00000000-0000-4000-8a08-000000000001');
select is((select count(*) from public.token_alerts), 1::bigint, 'alice reads her alert');
select throws_ok($$update public.token_alerts set delivered_at = now()$$, '42501', null, 'alice cannot mark it delivered');
select throws_ok($$delete from public.token_alerts$$, '42501', null, 'alice cannot delete it');
select tests.authenticate_as('00000000-0000-4000-8a08-000000000002');
select is_empty($$select 1 from public.token_alerts$$, 'bob reads none of alice''s alerts');
select throws_ok($$insert into public.token_alerts (user_id, threshold, available_before, available_after, balance_after, held, entry_kind, entry_id)
  values ('00000000-0000-4000-8a08-000000000002', 1, 1, 0, 0, 0, 'usage', gen_random_uuid())$$, '42501', null,
  'bob cannot write himself an alert');
select tests.authenticate_as_anon();
select throws_ok($$select 1 from public.token_alerts$$, '42501', null, 'anon cannot read alerts');
select tests.authenticate_as_service_role();
select is((select count(*) from public.token_alerts where user_id = '00000000-0000-4000-8a08-000000000001'), 1::bigint,
  'the service reads every alert');
select throws_ok($$update public.token_alerts set delivered_at = now()$$, '42501', null,
  'the service marks delivery only through mark_token_alerts_delivered');
select tests.clear_authentication();

select ok(not exists (select 1 from pg_publication where pubname = 'supabase_realtime')
          or exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime'
                      and schemaname = 'public' and tablename = 'token_alerts'),
  'token_alerts is in the supabase_realtime publication wherever that exists');

select * from finish();
rollback;
