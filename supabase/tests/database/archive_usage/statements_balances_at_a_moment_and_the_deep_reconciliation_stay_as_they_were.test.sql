-- Archiving months of usage changes no answer about a user's tokens: after archive_usage has
-- detached two months, get_token_statement shows each archived month as one entry (kind
-- archived_usage: the tokens its rows took, the balance after its last row, in that row's
-- place) and its legacy rows as one legacy entry, and agrees with what it showed before on
-- every other entry, on the total and on the balance; get_token_balance_at at and after a
-- month's end is what it was; the deep reconciliation (the balance chain and the lots replay,
-- which start from the archived months' closing state) still finds nothing, and still finds a
-- lot that differs. A period or a moment inside an archived month is refused (22023).
begin;
select plan(13);
-- Two months from 100 days ago (tests.past_usage_month takes the partition locks first,
-- before anything else; the partitions are made ahead, so the second month's exists too).
create temporary table past on commit drop as
  select m as m1, m + interval '1 month' as m2 from tests.past_usage_month(100) m;
grant select on past to service_role;

-- 100 permanent tokens, then 50 that expire in 30 days (burnt first).
select tests.create_user('as-alice@example.test', '00000000-0000-4000-d516-000000000001', 100);
select public.grant_tokens('00000000-0000-4000-d516-000000000001', 50, 'trial_grant', 'as-trial',
                           p_expires_at => now() + interval '30 days');
-- Usage of two past months, as record_usage wrote it then (the trial lot burnt first: 50 ->
-- 15 -> 12), and a legacy row; then usage of today through record_usage.
insert into public.token_usage (user_id, feature, tokens, idempotency_key, request_hash, balance_before, balance_after, created_at)
select '00000000-0000-4000-d516-000000000001'::uuid, 'chat', 30, 'as-1', 'x', 150, 120, m1 + interval '3 days' from past;
insert into public.token_usage (user_id, feature, tokens, idempotency_key, request_hash, balance_before, balance_after, created_at)
select '00000000-0000-4000-d516-000000000001'::uuid, 'chat', 5, 'as-2', 'x', 120, 115, m1 + interval '4 days' from past;
insert into public.token_usage (user_id, feature, tokens, is_legacy, created_at)
select '00000000-0000-4000-d516-000000000001'::uuid, 'legacy_feature_x', 7, true, m1 + interval '5 days' from past;
insert into public.token_usage (user_id, feature, tokens, idempotency_key, request_hash, balance_before, balance_after, created_at)
select '00000000-0000-4000-d516-000000000001'::uuid, 'chat', 3, 'as-3', 'x', 115, 112, m2 + interval '2 days' from past;
update public.token_balances set balance = 112 where user_id = '00000000-0000-4000-d516-000000000001';
update public.token_lots set remaining = 12 where user_id = '00000000-0000-4000-d516-000000000001' and expires_at is not null;
select public.record_usage('chat', 10, 'as-4', '00000000-0000-4000-d516-000000000001');

-- What the statements, balances at a moment and the deep reconciliation say before.
create temporary table answers on commit drop as
  select 'before'::text as phase,
         public.get_token_statement('00000000-0000-4000-d516-000000000001', p_limit => 1000) as statement,
         public.get_token_statement('00000000-0000-4000-d516-000000000001', (select m1 from past),
                                    (select m2 + interval '1 month' from past), 1000) as period,
         public.get_token_balance_at((select m1 + interval '1 month' from past), '00000000-0000-4000-d516-000000000001') as at_m1_end,
         public.get_token_balance_at((select m2 + interval '1 month' from past), '00000000-0000-4000-d516-000000000001') as at_m2_end,
         public.get_token_balance_at(now() + interval '1 second', '00000000-0000-4000-d516-000000000001') as at_now,
         (select to_jsonb(r) from public.reconcile_token_ledger('00000000-0000-4000-d516-000000000001', p_deep => true) r)
           as reconciliation;
select is((select reconciliation -> 'problems' from answers), '[]'::jsonb, 'before: the deep reconciliation finds nothing');

select tests.authenticate_as_service_role();
select set_config('test.r', public.archive_usage((select m2 + interval '1 month' from past))::text, true);
select tests.clear_authentication();
select is(jsonb_path_query_array(current_setting('test.r')::jsonb, '$.archived[*].period_start'),
  (select jsonb_build_array(m1, m2) from past), 'both months are archived');

insert into answers
  select 'after',
         public.get_token_statement('00000000-0000-4000-d516-000000000001', p_limit => 1000),
         public.get_token_statement('00000000-0000-4000-d516-000000000001', (select m1 from past),
                                    (select m2 + interval '1 month' from past), 1000),
         public.get_token_balance_at((select m1 + interval '1 month' from past), '00000000-0000-4000-d516-000000000001'),
         public.get_token_balance_at((select m2 + interval '1 month' from past), '00000000-0000-4000-d516-000000000001'),
         public.get_token_balance_at(now() + interval '1 second', '00000000-0000-4000-d516-000000000001'),
         (select to_jsonb(r) from public.reconcile_token_ledger('00000000-0000-4000-d516-000000000001', p_deep => true) r);
create temporary view phases as
  select b.statement as s0, a.statement as s1, b.period as p0, a.period as p1, b.at_m1_end as m1_0, a.at_m1_end as m1_1,
         b.at_m2_end as m2_0, a.at_m2_end as m2_1, b.at_now as n0, a.at_now as n1, b.reconciliation as r0, a.reconciliation as r1
    from answers b, answers a where b.phase = 'before' and a.phase = 'after';

select results_eq(
  $$select e ->> 'kind', (e ->> 'tokens')::bigint, (e ->> 'balance_after')::bigint, e -> 'details' ->> 'usage_rows',
           (e ->> 'legacy')::boolean
      from phases, jsonb_array_elements(s1 -> 'entries') e where e ->> 'kind' <> 'transaction'$$,
  $$values ('usage', -10::bigint, 102::bigint, null, false), ('archived_usage', -3, 112, '1', false),
           ('archived_usage', -35, 115, '2', false), ('archived_usage', -7, null, '2', true)$$,
  'the statement shows each archived month as one entry in the place of its last row, and its legacy rows as one legacy entry');
select is((select jsonb_path_query_array(s1, '$.entries[*] ? (@.kind != "archived_usage")') from phases),
          (select jsonb_path_query_array(s0, '$.entries[*] ? (@.kind != "usage" || @.details.idempotency_key == "as-4")') from phases),
  'every other entry is as it was');
create temporary view totals as
  select v.phase, (select sum((e ->> 'tokens')::bigint)::bigint from jsonb_array_elements(v.s -> 'entries') e
                    where not (e ->> 'legacy')::boolean) as total,
         (v.s -> 'entries' -> 0 ->> 'balance_after')::bigint as balance
    from phases, lateral (values (0, s0), (1, s1)) v (phase, s);
select results_eq($$select total, balance from totals order by phase$$, $$values (102::bigint, 102::bigint), (102, 102)$$,
  'the statement''s total and balance are what they were');
select is((select (select sum((e ->> 'tokens')::bigint) from jsonb_array_elements(p1 -> 'entries') e where not (e ->> 'legacy')::boolean)
             || ' ' || jsonb_array_length(p1 -> 'entries') from phases),
          (select (select sum((e ->> 'tokens')::bigint) from jsonb_array_elements(p0 -> 'entries') e where not (e ->> 'legacy')::boolean)
             || ' 3' from phases),
  'a statement of the two archived months: their two entries (and the legacy one) take what their rows took');
select throws_ok(
  $$select public.get_token_statement('00000000-0000-4000-d516-000000000001', (select m1 + interval '10 days' from past))$$,
  '22023', null, 'a period that starts inside an archived month is refused');
select throws_ok(
  $$select public.get_token_balance_at((select m2 + interval '10 days' from past), '00000000-0000-4000-d516-000000000001')$$,
  '22023', null, 'a balance at a moment inside an archived month is refused');
select is((select m1_1 - 'last_entry' from phases), (select m1_0 - 'last_entry' from phases),
  'the balance at the end of the first archived month is what it was (balance, debt, lots)');
select is((select m2_1 - 'last_entry' from phases), (select m2_0 - 'last_entry' from phases),
  'the balance at the end of the second archived month is what it was');
select is((select n1 from phases), (select n0 from phases), 'the balance now is what it was');
select is((select r1 from phases), (select r0 from phases),
  'the deep reconciliation reports what it did before, problems none (its chain and lots replay start from the archive''s closing state)');
update public.token_lots set remaining = remaining - 1
 where user_id = '00000000-0000-4000-d516-000000000001' and expires_at is null;
update public.token_balances set balance = balance - 1 where user_id = '00000000-0000-4000-d516-000000000001';
select is((select r.problems from public.reconcile_token_ledger('00000000-0000-4000-d516-000000000001', p_deep => true) r),
  array['balance_differs_from_ledger', 'balance_differs_from_last_entry', 'lots_differ_from_replay'],
  'and still finds a lot that differs from the replay');

select * from finish();
rollback;
