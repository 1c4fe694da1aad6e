-- Every spend sums the user's active holds (private.held_tokens). That sum must read only the
-- user's own held holds through token_holds_active_idx (user_id, expires_at), whatever the
-- statistics say: with a second partial index on (expires_at) alone, the planner took that one
-- (few holds are held when the table was analyzed) and read every user's active holds on every
-- record_usage, reserve_tokens and deduction. The query below is held_tokens' own.
-- The plans are checked for an index lookup of the user (`Index Cond` on user_id first): on a
-- table analyzed with a few rows of other users' holds (`supabase test db` on a dev database)
-- the planner takes the (user_id, idempotency_key) index instead, which also reads only the
-- user's holds.
begin;
select plan(5);

create function pg_temp.plan_of(p_sql text) returns text language plpgsql as $f$
declare
  v_line text;
  v_plan text := '';
begin
  for v_line in execute 'explain (costs off) ' || p_sql loop
    v_plan := v_plan || v_line || E'\n';
  end loop;
  return v_plan;
end
$f$;

select indexes_are('public', 'token_holds',
  array['token_holds_pkey', 'token_holds_user_idempotency_key_key', 'token_holds_active_idx',
        'token_holds_id_idx'],
  'token_holds has exactly its four indexes (none on expires_at alone: each one is written by every reserve and settle)');

-- The usual state: the table analyzed while (almost) nothing is held, then many streams at once.
insert into auth.users (id, email)
select ('00000000-0000-4000-b506-' || lpad(i::text, 12, '0'))::uuid, 'th-plan-' || i || '@example.test'
from generate_series(1, 200) i;
analyze public.token_holds;
insert into public.token_holds (user_id, feature, tokens_held, idempotency_key, request_hash, expires_at, available_after)
select ('00000000-0000-4000-b506-' || lpad((i % 200 + 1)::text, 12, '0'))::uuid, 'chat', 1, 'th-plan-' || i, 'x',
       now() + interval '10 minutes', 0
from generate_series(1, 3000) i;

prepare held_sum(uuid, timestamptz, uuid) as
  select coalesce(sum(h.tokens_held), 0)::bigint
  from public.token_holds h
  where h.user_id = $1 and h.status = 'held' and h.expires_at > $2 and h.id is distinct from $3;
set local plan_cache_mode = force_generic_plan; -- what a plpgsql function ends up caching
select matches(pg_temp.plan_of($$execute held_sum('00000000-0000-4000-b506-000000000001', now(), null)$$),
  'Index Cond: \(\(?user_id = \$1',
  'the generic plan of the sum looks up the user in an index');
set local plan_cache_mode = force_custom_plan;
select matches(pg_temp.plan_of($$execute held_sum('00000000-0000-4000-b506-000000000001', now(), null)$$),
  'Index Cond: \(\(?user_id = ',
  'so does a custom plan');
reset plan_cache_mode;

select is(public.get_token_balance('00000000-0000-4000-b506-000000000001') ->> 'held', '15',
  'the sum itself: user 1 holds 15 of the 3,000 tokens held');

-- the sweep reads the same index (only held holds), not the whole table
select matches(pg_temp.plan_of(
  $$update public.token_holds h set status = 'expired', tokens_released = h.tokens_held, closed_at = now()
     where h.status = 'held' and h.expires_at <= now()$$),
  'Index Scan (using|on) token_holds_active_idx', -- a plain or a bitmap scan, as the statistics say
  'the sweep reads token_holds_active_idx');

select * from finish();
rollback;
