-- A deleted user's usage goes with them, archived months included: token_usage has no foreign
-- key to auth.users (its check cost every usage a row lock), so the trigger
-- token_ledger_forget_usage on auth.users deletes the user's rows from token_usage and from
-- every detached month in schema usage_archive; the month's summary row goes by its foreign key.
-- Another user's archived rows stay.
begin;
select plan(4);
-- A month 100 days ago (tests.past_usage_month takes the partition locks first, before
-- anything else).
create temporary table past on commit drop as select tests.past_usage_month(100) as m;
grant select on past to service_role;

select tests.create_user('du-alice@example.test', '00000000-0000-4000-d515-000000000001', 100);
select tests.create_user('du-bob@example.test', '00000000-0000-4000-d515-000000000002', 100);
-- One usage row each in that month, as record_usage wrote it then.
insert into public.token_usage (user_id, feature, tokens, idempotency_key, request_hash, balance_before, balance_after, created_at)
select u, 'chat', 30, 'du-1', 'x', 100, 70, m + interval '3 days'
  from past, unnest(array['00000000-0000-4000-d515-000000000001', '00000000-0000-4000-d515-000000000002']::uuid[]) u;
update public.token_balances set balance = 70 where user_id in ('00000000-0000-4000-d515-000000000001', '00000000-0000-4000-d515-000000000002');
update public.token_lots set remaining = 70 where user_id in ('00000000-0000-4000-d515-000000000001', '00000000-0000-4000-d515-000000000002');

select tests.authenticate_as_service_role();
select public.archive_usage((select m + interval '1 month' from past));
select tests.clear_authentication();

create function pg_temp.archived_rows(p_user uuid) returns int language sql as $$
  select (xpath('/row/c/text()', query_to_xml(format('select count(*) as c from %s where user_id = %L',
            (select a.archived_table from public.token_usage_archives a
              where a.period_start = (select m from past) limit 1), p_user), false, true, '')))[1]::text::int
$$;
select is(pg_temp.archived_rows('00000000-0000-4000-d515-000000000001'), 1, 'alice''s month is archived with her row');

delete from auth.users where id = '00000000-0000-4000-d515-000000000001';

select is(pg_temp.archived_rows('00000000-0000-4000-d515-000000000001'), 0,
  'deleting alice deletes her row from the archived month');
select is((select count(*)::int from public.token_usage_archives where user_id = '00000000-0000-4000-d515-000000000001'), 0,
  'and her summary row of the month');
select is(pg_temp.archived_rows('00000000-0000-4000-d515-000000000002'), 1, 'bob''s archived row stays');

select * from finish();
rollback;
