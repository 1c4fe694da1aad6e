-- verify_token_ledger lists every user whose stored balance is not what the ledger rows
-- explain, or not what the lots hold minus debt, with the three figures side by side.
-- Drift is made here the only way it can happen: a superuser writing state or ledger rows
-- by hand, around the RPCs.
begin;
select plan(6);

select tests.create_users('vl-drift',
  '00000000-0000-4000-8502-000000000001', '00000000-0000-4000-8502-000000000002', '00000000-0000-4000-8502-000000000003', '00000000-0000-4000-8502-000000000004');
select public.grant_tokens(u, 100, 'admin_grant', 'vl-drift-' || u)
  from unnest(array['00000000-0000-4000-8502-000000000001', '00000000-0000-4000-8502-000000000002',
                    '00000000-0000-4000-8502-000000000003', '00000000-0000-4000-8502-000000000004']::uuid[]) u;

-- alice: the stored balance edited by hand
update public.token_balances set balance = balance + 5 where user_id = '00000000-0000-4000-8502-000000000001';
-- bob: a lot emptied by hand
update public.token_lots set remaining = remaining - 3 where user_id = '00000000-0000-4000-8502-000000000002';
-- carol: a usage row written directly, without touching balance or lots
insert into public.token_usage (user_id, feature, tokens, idempotency_key, balance_before, balance_after)
values ('00000000-0000-4000-8502-000000000003', 'chat', 7, 'vl-drift-direct', 100, 93);
-- dave: untouched

select results_eq(
  $$select user_id, stored_balance, ledger_balance, lots_balance, debt from public.verify_token_ledger('00000000-0000-4000-8502-000000000001')$$,
  $$values ('00000000-0000-4000-8502-000000000001'::uuid, 105::bigint, 100::bigint, 100::bigint, 0::bigint)$$,
  'a stored balance that the ledger does not explain is reported');
select results_eq(
  $$select user_id, stored_balance, ledger_balance, lots_balance, debt from public.verify_token_ledger('00000000-0000-4000-8502-000000000002')$$,
  $$values ('00000000-0000-4000-8502-000000000002'::uuid, 100::bigint, 100::bigint, 97::bigint, 0::bigint)$$,
  'lots that do not add up to the balance are reported');
select results_eq(
  $$select user_id, stored_balance, ledger_balance, lots_balance, debt from public.verify_token_ledger('00000000-0000-4000-8502-000000000003')$$,
  $$values ('00000000-0000-4000-8502-000000000003'::uuid, 100::bigint, 93::bigint, 100::bigint, 0::bigint)$$,
  'a ledger row that never reached the balance is reported');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8502-000000000004')$$,
  'an untouched user is not reported');
select results_eq(
  $$select user_id from public.verify_token_ledger()
     where user_id::text like '00000000-0000-4000-8502-%'$$,
  $$values ('00000000-0000-4000-8502-000000000001'::uuid), ('00000000-0000-4000-8502-000000000002'::uuid),
           ('00000000-0000-4000-8502-000000000003'::uuid)$$,
  'the whole-ledger check lists exactly the three drifted users, in user_id order');
select is(
  (select array_agg(a.attname::text order by a.attnum)
     from pg_proc p, unnest(p.proargnames) with ordinality a(attname, attnum)
    where p.oid = 'public.verify_token_ledger(uuid)'::regprocedure and p.proargmodes[a.attnum] = 't'),
  array['user_id', 'stored_balance', 'ledger_balance', 'lots_balance', 'debt',
        'stored_held', 'holds_held', 'stored_next_due_at', 'next_due'],
  'the rows have the documented columns');

select * from finish();
rollback;
