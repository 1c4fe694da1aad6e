-- A threshold of 0 turns alerts off: a user's own 0, or a default of 0 for users who set none.
begin;
select plan(3);

select tests.create_user('alerts-off-own@example.test', '00000000-0000-4000-8a07-000000000001');
select tests.create_user('alerts-off-default@example.test', '00000000-0000-4000-8a07-000000000002');
select tests.create_user('alerts-off-custom@example.test', '00000000-0000-4000-8a07-000000000003');
select public.set_low_balance_threshold(0, '00000000-0000-4000-8a07-000000000001');
select public.set_low_balance_threshold(50, '00000000-0000-4000-8a07-000000000003');
select public.update_ledger_settings('{"low_balance_threshold": 0}');

select public.grant_tokens(u, 100, 'admin_grant', 'alerts-off-g-' || u)
  from unnest(array['00000000-0000-4000-8a07-000000000001', '00000000-0000-4000-8a07-000000000002',
                    '00000000-0000-4000-8a07-000000000003']::uuid[]) u;
select public.record_usage('chat', 100, 'alerts-off-u', u)
  from unnest(array['00000000-0000-4000-8a07-000000000001', '00000000-0000-4000-8a07-000000000002',
                    '00000000-0000-4000-8a07-000000000003']::uuid[]) u;

select is((select count(*) from public.token_alerts where user_id = '00000000-0000-4000-8a07-000000000001'), 0::bigint,
  'a user''s own threshold of 0: no alert');
select is((select count(*) from public.token_alerts where user_id = '00000000-0000-4000-8a07-000000000002'), 0::bigint,
  'a default of 0: no alert for users without their own threshold');
select is((select count(*) from public.token_alerts where user_id = '00000000-0000-4000-8a07-000000000003'), 1::bigint,
  'a user''s own threshold still applies when the default is 0');

select * from finish();
rollback;
