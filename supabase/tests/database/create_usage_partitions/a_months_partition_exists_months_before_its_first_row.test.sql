-- token_usage is partitioned by month (pg_partman) and kept three months ahead: as of any
-- time, create_usage_partitions makes sure the partitions of that month and of the three
-- after it exist, so a month's partition is there long before its first row (the daily
-- token-usage-partitions job runs it with now(); tested here with an as-of, not the clock).
-- Usage on either side of a month boundary lands in its own month's partition, never in the
-- default one. New partitions are closed to the API roles. Only the service runs it.
begin;
select plan(11);
-- This test changes token_usage's partitions: one such test at a time (as the functions do),
-- and it takes the tables a new partition's foreign keys lock before anything else, so that
-- no other test's rows wait in between (a deadlock otherwise).
select private.lock_usage_partitions();
lock table auth.users, public.token_holds, public.token_usage in share row exclusive mode;

select tests.create_user('up-alice@example.test', '00000000-0000-4000-d512-000000000001');
create temporary table months on commit drop as
  select m as month_start from generate_series(date_trunc('month', now() + interval '200 days', 'UTC'),
    date_trunc('month', now() + interval '200 days', 'UTC') + interval '3 months', interval '1 month') m;

select is_empty($$select 1 from private.usage_partitions() p join months on p.range_start = months.month_start$$,
  'as of now, the partitions of seven months on do not exist yet');
select tests.authenticate_as_service_role();
select set_config('test.r', public.create_usage_partitions(now() + interval '200 days')::text, true);
select tests.clear_authentication();
select ok((current_setting('test.r')::jsonb ->> 'partitions_created')::int >= 4,
  'as of seven months on, the partitions of that month and the three after it are created');
select is((select count(*)::int from private.usage_partitions() p join months on p.range_start = months.month_start
            and p.range_end = months.month_start + interval '1 month'), 4,
  'each is one month, from the first instant of the month to the first of the next');
select is_empty(
  $$select m from generate_series(date_trunc('month', now(), 'UTC'), date_trunc('month', now(), 'UTC') + interval '3 months',
                                  interval '1 month') m
    where not exists (select 1 from private.usage_partitions() p where p.range_start = m)$$,
  'as of now, this month and the three after it have their partitions');
select tests.authenticate_as_service_role();
select set_config('test.r', public.create_usage_partitions(now() + interval '200 days')::text, true);
select tests.clear_authentication();
select is((current_setting('test.r')::jsonb ->> 'partitions_created')::int, 0, 'a second run creates nothing');

-- Usage on either side of a month boundary (written directly, as legacy rows need no ledger).
create temporary table boundary on commit drop as
  select (select month_start from months order by month_start offset 1 limit 1) as b;
insert into public.token_usage (user_id, feature, tokens, is_legacy, created_at)
select '00000000-0000-4000-d512-000000000001'::uuid, 'chat', 1, true, boundary.b - interval '1 microsecond' from boundary
union all
select '00000000-0000-4000-d512-000000000001'::uuid, 'chat', 2, true, boundary.b from boundary;
select results_eq(
  $$select u.tokens, p.range_start from public.token_usage u
      join private.usage_partitions() p on p.partition_name::regclass = u.tableoid
     where u.user_id = '00000000-0000-4000-d512-000000000001' order by u.created_at$$,
  $$select 1::bigint, b - interval '1 month' from boundary union all select 2::bigint, b from boundary$$,
  'the last microsecond of a month and the first of the next land in their own months'' partitions');
select is_empty($$select 1 from public.token_usage u join private.usage_partitions() p
                   on p.partition_name::regclass = u.tableoid where p.is_default$$,
  'the default partition holds no row');

select is_empty(
  $$select p.partition_name from private.usage_partitions() p join pg_class c on c.oid = p.partition_name::regclass
     where not c.relrowsecurity
        or has_table_privilege('anon', c.oid, 'select') or has_table_privilege('authenticated', c.oid, 'select')
        or has_table_privilege('service_role', c.oid, 'select') or has_table_privilege('service_role', c.oid, 'insert')$$,
  'every partition has row level security on and no privilege for anon, authenticated or service_role');

select tests.authenticate_as('00000000-0000-4000-d512-000000000001');
select throws_ok($$select public.create_usage_partitions(now())$$, '42501', null, 'a user may not create partitions');
select tests.clear_authentication();
select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'token-usage-partitions'$$,
  $$values ('41 2 * * *'::text, 'select public.create_usage_partitions(now())'::text, true)$$,
  'the token-usage-partitions job runs it daily');
select ok((select r.rolsuper or r.rolbypassrls from cron.job j join pg_roles r on r.rolname = j.username
            where j.jobname = 'token-usage-partitions'),
  'the job runs as a role the ledger trusts like the service');

select * from finish();
rollback;
