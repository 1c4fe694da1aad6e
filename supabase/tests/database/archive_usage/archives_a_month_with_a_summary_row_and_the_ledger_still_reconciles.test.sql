-- Old months of usage can be archived, never silently deleted: archive_usage writes one
-- token_usage_archives row per user of the month (its rows and the tokens they took), then
-- detaches the month's partition into schema usage_archive, rows intact. verify_token_ledger
-- counts the summary rows in their place, so the ledger still reconciles. A month still inside
-- the usage key window is never archived, and summary rows are append-only. Only the service.
begin;
select plan(12);
-- A month 100 days ago (tests.past_usage_month takes the partition locks first, before
-- anything else).
create temporary table past on commit drop as select tests.past_usage_month(100) as m;
grant select on past to service_role;

select tests.create_user('ar-alice@example.test', '00000000-0000-4000-d514-000000000001', 100);
-- Usage of that month, as record_usage wrote it then: the balance and the lot followed.
insert into public.token_usage (user_id, feature, tokens, idempotency_key, request_hash, balance_before, balance_after, created_at)
select '00000000-0000-4000-d514-000000000001'::uuid, 'chat', 30, 'ar-1', 'x', 100, 70, m + interval '3 days' from past
union all
select '00000000-0000-4000-d514-000000000001'::uuid, 'chat', 5, 'ar-2', 'x', 70, 65, m + interval '4 days' from past;
insert into public.token_usage (user_id, feature, tokens, is_legacy, created_at)
select '00000000-0000-4000-d514-000000000001'::uuid, 'legacy_feature_x', 7, true, m + interval '5 days' from past;
update public.token_balances set balance = 65 where user_id = '00000000-0000-4000-d514-000000000001';
update public.token_lots set remaining = 65 where user_id = '00000000-0000-4000-d514-000000000001';
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d514-000000000001')$$,
  'the ledger reconciles before the archive');

select tests.authenticate_as('00000000-0000-4000-d514-000000000001');
select throws_ok($$select public.archive_usage(now())$$, '42501', null, 'a user may not archive');
select tests.authenticate_as_service_role();
select set_config('test.r', public.archive_usage((select m + interval '1 month' from past))::text, true);
select tests.clear_authentication();
select is(jsonb_path_query_array(current_setting('test.r')::jsonb, '$.archived[*].period_start'),
  (select jsonb_build_array(m) from past), 'the month is archived');

select results_eq(
  $$select period_start, period_end, usage_rows, legacy_rows, tokens from public.token_usage_archives
     where user_id = '00000000-0000-4000-d514-000000000001'$$,
  $$select m, m + interval '1 month', 2::bigint, 1::bigint, 35::bigint from past$$,
  'one summary row for the user and month: its rows and the tokens they took');
select is_empty($$select 1 from public.token_usage where user_id = '00000000-0000-4000-d514-000000000001'
                   and created_at < (select m + interval '1 month' from past)$$,
  'the month has left token_usage');
select is(
  (select (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %s where user_id = %L',
            a.archived_table, a.user_id), false, true, '')))[1]::text::int
     from public.token_usage_archives a where a.user_id = '00000000-0000-4000-d514-000000000001'),
  3, 'the archived table in usage_archive keeps the month''s three rows as they were');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d514-000000000001')$$,
  'the ledger still reconciles with the month archived');
select is((select balance from public.token_balances where user_id = '00000000-0000-4000-d514-000000000001'), 65::bigint,
  'the balance is untouched');
select tests.authenticate_as_service_role();
select results_eq(
  $$select r.ledger_balance, r.last_balance_after, r.problems
      from public.reconcile_token_ledger('00000000-0000-4000-d514-000000000001', p_deep => false) r$$,
  $$values (65::bigint, 65::bigint, '{}'::text[])$$,
  'reconcile_token_ledger counts the summary rows too, and finds the balance chain''s end in them');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select set_config('test.r', public.archive_usage(now() + interval '60 days')::text, true);
select tests.clear_authentication();
select ok(
  not exists (select 1 from jsonb_array_elements(current_setting('test.r')::jsonb -> 'archived') a
               where (a ->> 'period_end')::timestamptz > now() - private.usage_key_window())
  and exists (select 1 from private.usage_partitions() p where p.range_start <= now() - private.usage_key_window()
                                                            and p.range_end > now()- private.usage_key_window()),
  'no month that ends inside the usage key window is archived, however late p_before is');
select throws_ok(
  $$update public.token_usage_archives set tokens = 0 where user_id = '00000000-0000-4000-d514-000000000001'$$,
  '42501', null, 'summary rows are append-only');
select ok(not has_schema_privilege('service_role', 'usage_archive', 'usage')
          and not has_schema_privilege('authenticated', 'usage_archive', 'usage'),
  'the archive is out of the API''s reach');

select * from finish();
rollback;
