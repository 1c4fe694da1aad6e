-- The settings row is read by the service and changed only by the service, through
-- update_ledger_settings: anon, a user and an admin get 42501 and nothing changes; nobody
-- but the service may even read the row.
begin;
select plan(11);

create temporary table before_row as select * from public.ledger_settings;
select tests.create_user('settings-roles-user@example.test', '00000000-0000-4000-8a01-000000000001');
select tests.create_user('settings-roles-admin@example.test', '00000000-0000-4000-8a01-000000000002');

select ok(not has_function_privilege('anon', 'public.update_ledger_settings(jsonb)', 'execute'),
  'anon has no EXECUTE on update_ledger_settings');
select ok(not has_table_privilege('anon', 'public.ledger_settings', 'select')
          and not has_table_privilege('authenticated', 'public.ledger_settings', 'select'),
  'anon and authenticated cannot read ledger_settings');
select ok(has_table_privilege('service_role', 'public.ledger_settings', 'select')
          and not has_table_privilege('service_role', 'public.ledger_settings', 'update')
          and not has_table_privilege('service_role', 'public.ledger_settings', 'insert')
          and not has_table_privilege('service_role', 'public.ledger_settings', 'delete'),
  'service_role reads ledger_settings and writes it only through the RPC');

select tests.authenticate_as_anon();
select throws_ok($$select public.update_ledger_settings('{"low_balance_threshold": 1}')$$, '42501', null,
  'anon cannot change the settings');
select tests.authenticate_as('00000000-0000-4000-8a01-000000000001');
select throws_ok($$select public.update_ledger_settings('{"low_balance_threshold": 1}')$$, '42501', null,
  'a user cannot change the settings');
select throws_ok($$select 1 from public.ledger_settings$$, '42501', null, 'a user cannot read the settings');
select tests.authenticate_as_admin('00000000-0000-4000-8a01-000000000002');
select throws_ok($$select public.update_ledger_settings('{"low_balance_threshold": 1}')$$, '42501', null,
  'an admin cannot change the settings');
select tests.clear_authentication();
select results_eq($$select * from public.ledger_settings$$, $$select * from before_row$$, 'the settings are unchanged');

select tests.authenticate_as_service_role();
select is((public.update_ledger_settings('{"low_balance_threshold": 2500}') ->> 'low_balance_threshold')::bigint, 2500::bigint,
  'the service changes a setting and gets the whole row back');
select is((select low_balance_threshold from public.ledger_settings), 2500::bigint, 'the service reads the new value');
select tests.clear_authentication();
select is((public.update_ledger_settings('{"low_balance_threshold": 3000}') ->> 'low_balance_threshold')::bigint, 3000::bigint,
  'a session that did not switch role (psql, pg_cron) is trusted like the service');

select * from finish();
rollback;
