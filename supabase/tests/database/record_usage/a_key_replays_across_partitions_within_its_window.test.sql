-- A usage key is unique per user within its window (private.usage_key_window(), 7 days; a
-- unique index of the partitioned token_usage would have to hold created_at). record_usage
-- looks the key up under the user's lock over every partition the window covers, so a retry
-- whose first call is in the previous partition (across a month boundary) replays it, and a
-- different request under it is PT409; after the window the key is new usage. The boundary
-- here is an hour ago: this month's partition is split there for the test (rolled back).
begin;
select plan(7);
-- This test changes token_usage's partitions: one such test at a time (as the functions do),
-- and it takes the tables a new partition's foreign keys lock before anything else, so that
-- no other test's rows wait in between (a deadlock otherwise).
select private.lock_usage_partitions();
lock table auth.users, public.token_holds, public.token_usage in share row exclusive mode;

select tests.create_user('uk-alice@example.test', '00000000-0000-4000-d513-000000000001', 1000);

do $$
declare
  v_part record;
begin
  select * into v_part from private.usage_partitions() p
   where not p.is_default and p.range_start <= now() and p.range_end > now();
  execute format('alter table public.token_usage detach partition %s', v_part.partition_name);
  execute format('create table public.token_usage_test_before partition of public.token_usage for values from (%L) to (%L)',
    v_part.range_start, now() - interval '1 hour');
  execute format('create table public.token_usage_test_after partition of public.token_usage for values from (%L) to (%L)',
    now() - interval '1 hour', v_part.range_end);
end
$$;

-- Earlier calls, as record_usage writes them: two hours ago (before the boundary) and eight
-- days ago (outside the window).
insert into public.token_usage (id, user_id, feature, tokens, idempotency_key, request_hash, balance_before, balance_after, created_at)
values ('00000000-0000-4000-d513-0000000000a1', '00000000-0000-4000-d513-000000000001', 'chat', 10, 'uk-recent',
        md5(jsonb_build_array('chat', 10::bigint, null::text, '{}'::jsonb)::text), 1000, 990, now() - interval '2 hours'),
       ('00000000-0000-4000-d513-0000000000a2', '00000000-0000-4000-d513-000000000001', 'chat', 10, 'uk-old',
        md5(jsonb_build_array('chat', 10::bigint, null::text, '{}'::jsonb)::text), 990, 980, now() - interval '8 days');
select is((select tableoid::regclass from public.token_usage where id = '00000000-0000-4000-d513-0000000000a1'),
  'public.token_usage_test_before'::regclass, 'the first call is in the partition before the boundary');

select tests.authenticate_as('00000000-0000-4000-d513-000000000001');
select set_config('test.r', public.record_usage('chat', 10, 'uk-recent')::text, true);
select is((current_setting('test.r')::jsonb ->> 'replayed')::boolean, true, 'a retry across the boundary replays');
select is(current_setting('test.r')::jsonb ->> 'usage_id', '00000000-0000-4000-d513-0000000000a1', 'with the first call''s result');
select throws_ok($$select public.record_usage('chat', 11, 'uk-recent')$$, 'PT409', null,
  'another request under the key is PT409 across the boundary');
select is((public.record_usage('chat', 10, 'uk-old') ->> 'replayed')::boolean, false,
  'a retry after the window (8 days) is new usage');
select tests.clear_authentication();
select is((select count(*)::int from public.token_usage where idempotency_key = 'uk-recent'), 1, 'the recent key has one row');
select is((select tableoid::regclass from public.token_usage
            where idempotency_key = 'uk-old' and created_at > now() - interval '1 hour'),
  'public.token_usage_test_after'::regclass, 'the new usage is in the partition after the boundary');

select * from finish();
rollback;
