-- Not every Supabase project has pg_partman (docs/scaling.md#pg_partman-on-supabase): there
-- the schema migration and create_usage_partitions make token_usage's partitions with plain
-- DDL (private.create_usage_month_partitions), the same UTC months as pg_partman makes, and a
-- second run makes nothing. (This database has pg_partman, so the fallback is asked for with
-- p_plain, for months pg_partman has not made; applying every migration without pg_partman is
-- checked by hand: docs/scaling.md.)
begin;
select plan(4);
-- This test changes token_usage's partitions: one such test at a time (as the functions do),
-- and it takes the tables a new partition's foreign keys lock before anything else, so that
-- no other test's rows wait in between (a deadlock otherwise).
select private.lock_usage_partitions();
lock table auth.users, public.token_holds, public.token_usage in share row exclusive mode;

create temporary table far on commit drop as
  select date_trunc('month', now() + interval '3 years', 'UTC') as m;
select private.create_usage_month_partitions(array[(select m from far), (select m + interval '12 days' from far),
                                                   (select m + interval '1 month' from far)], p_plain => true);
select results_eq(
  $$select p.partition_name, p.range_start, p.range_end from private.usage_partitions() p, far
     where p.range_start >= far.m order by p.range_start$$,
  $$select 'public.token_usage_p' || to_char(m at time zone 'UTC', 'YYYY_MM'), m, m + interval '1 month' from far
    union all
    select 'public.token_usage_p' || to_char((m + interval '1 month') at time zone 'UTC', 'YYYY_MM'), m + interval '1 month',
           m + interval '2 months' from far$$,
  'one partition for each month named (two times in one month make one), from its first instant to the next month''s');
select lives_ok($$select private.create_usage_month_partitions(array[(select m from far)], p_plain => true)$$,
  'a second run for a month that has its partition makes nothing and does not fail');
select tests.create_user('pd-alice@example.test', '00000000-0000-4000-d517-000000000001');
insert into public.token_usage (user_id, feature, tokens, is_legacy, created_at)
select '00000000-0000-4000-d517-000000000001'::uuid, 'chat', 1, true, m + interval '1 month' - interval '1 microsecond' from far;
select is((select p.range_start from public.token_usage u join private.usage_partitions() p on p.partition_name::regclass = u.tableoid
            where u.user_id = '00000000-0000-4000-d517-000000000001'), (select m from far),
  'the month''s last microsecond lands in its partition');
select is((select count(*)::int from private.usage_partitions() p where p.is_default), 1,
  'the default partition is there once (pg_partman''s here; the fallback makes it when missing)');

select * from finish();
rollback;
