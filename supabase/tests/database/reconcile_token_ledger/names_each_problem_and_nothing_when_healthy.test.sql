-- reconcile_token_ledger: one user's report always comes back, with the ledger sum, the end of
-- the chain, the balance row, lots and holds, and no problem when healthy; every user with a
-- problem comes back when no user is named (and nobody when all is well). Each kind of damage
-- is named: a balance row that disagrees with the ledger, lots that disagree with the replay,
-- a broken chain, lapsed lots or holds the sweeps left behind.
begin;
select plan(9);

select tests.create_user('reconcile-healthy@example.test', '00000000-0000-4000-8b0b-000000000001');
select tests.create_user('reconcile-balance@example.test', '00000000-0000-4000-8b0b-000000000002');
select tests.create_user('reconcile-lots@example.test', '00000000-0000-4000-8b0b-000000000003');
select tests.create_user('reconcile-sweeps@example.test', '00000000-0000-4000-8b0b-000000000004');
select tests.create_user('reconcile-chain@example.test', '00000000-0000-4000-8b0b-000000000005');
select public.grant_tokens(u, 1000, 'admin_grant', 'reconcile-g-' || u)
  from unnest(array['00000000-0000-4000-8b0b-000000000001', '00000000-0000-4000-8b0b-000000000002',
    '00000000-0000-4000-8b0b-000000000003', '00000000-0000-4000-8b0b-000000000004',
    '00000000-0000-4000-8b0b-000000000005']::uuid[]) u;
select public.reserve_tokens('chat', 100, 'reconcile-r1', '00000000-0000-4000-8b0b-000000000001');
select public.record_usage('chat', 300, 'reconcile-u1', '00000000-0000-4000-8b0b-000000000001');

select is((select to_jsonb(r) - 'user_id' from public.reconcile_token_ledger('00000000-0000-4000-8b0b-000000000001') r),
  '{"balance": 700, "debt": 0, "ledger_balance": 700, "last_balance_after": 700, "lots_remaining": 700, "lapsed_unswept": 0,
    "held": 100, "available": 600, "problems": []}'::jsonb,
  'a healthy user''s report: every figure agrees, no problem');
select is_empty($$select * from public.reconcile_token_ledger() where user_id in (select id from auth.users where email like 'reconcile-%')$$,
  'with all well, no user of this test is listed');

-- damage, as only a superuser could do it
update public.token_balances set balance = balance + 5 where user_id = '00000000-0000-4000-8b0b-000000000002';
-- user 3: a usage entry that continues the chain, but its tokens taken from the wrong lot
-- (the trial grant expires first, so the engine would have burned it)
select public.grant_tokens('00000000-0000-4000-8b0b-000000000003', 100, 'trial_grant', 'reconcile-g-trial3', null, now() + interval '1 day');
update public.token_lots set remaining = remaining - 10
 where transaction_id = (select id from public.token_transactions where idempotency_key = 'reconcile-g-00000000-0000-4000-8b0b-000000000003');
update public.token_balances set balance = balance - 10 where user_id = '00000000-0000-4000-8b0b-000000000003';
insert into public.token_usage (user_id, feature, tokens, idempotency_key, balance_before, balance_after)
values ('00000000-0000-4000-8b0b-000000000003', 'chat', 10, 'reconcile-forged', 1100, 1090);
-- user 4: a lapsed lot and a lapsed hold that the sweeps did not close
select public.grant_tokens('00000000-0000-4000-8b0b-000000000004', 50, 'trial_grant', 'reconcile-g-trial', null, now() + interval '1 day');
select public.reserve_tokens('chat', 10, 'reconcile-r2', '00000000-0000-4000-8b0b-000000000004');
update public.token_lots set expires_at = now() - interval '1 hour'
 where transaction_id = (select id from public.token_transactions where idempotency_key = 'reconcile-g-trial');
update public.token_holds set expires_at = now() - interval '11 minutes' where idempotency_key = 'reconcile-r2';
-- user 5: an entry that does not start where the previous one ended
insert into public.token_usage (user_id, feature, tokens, idempotency_key, balance_before, balance_after)
values ('00000000-0000-4000-8b0b-000000000005', 'chat', 10, 'reconcile-chain', 500, 490);

select is((select problems from public.reconcile_token_ledger('00000000-0000-4000-8b0b-000000000002')),
  array['balance_differs_from_ledger', 'balance_differs_from_lots', 'balance_differs_from_last_entry'],
  'a balance row moved by hand disagrees with the ledger, the lots and the last entry');
select is((select problems from public.reconcile_token_ledger('00000000-0000-4000-8b0b-000000000003')),
  array['lots_differ_from_replay'], 'lots burned without the engine (with a matching forged entry) disagree with the replay');
select is((select problems from public.reconcile_token_ledger('00000000-0000-4000-8b0b-000000000004')),
  array['expired_lots_not_swept', 'expired_holds_not_swept'], 'lots and holds the sweeps left behind');
select is((select problems from public.reconcile_token_ledger('00000000-0000-4000-8b0b-000000000005')),
  array['balance_differs_from_ledger', 'balance_differs_from_last_entry', 'broken_chain', 'lots_differ_from_replay'],
  'an entry that does not continue the chain');
select is((select problems from public.reconcile_token_ledger('00000000-0000-4000-8b0b-000000000005', p_deep => false)),
  array['balance_differs_from_ledger', 'balance_differs_from_last_entry'],
  'without the deep checks, only the cheap ones');
select results_eq(
  $$select user_id, problems from public.reconcile_token_ledger() where user_id in (select id from auth.users where email like 'reconcile-%')$$,
  $$values ('00000000-0000-4000-8b0b-000000000002'::uuid, array['balance_differs_from_ledger', 'balance_differs_from_lots', 'balance_differs_from_last_entry']),
           ('00000000-0000-4000-8b0b-000000000004'::uuid, array['expired_lots_not_swept', 'expired_holds_not_swept']),
           ('00000000-0000-4000-8b0b-000000000005'::uuid, array['balance_differs_from_ledger', 'balance_differs_from_last_entry'])$$,
  'for every user: those with a problem, cheap checks only (the forged lots need the deep check)');
select is((select count(*) from public.reconcile_token_ledger('00000000-0000-4000-8b0b-0000000000ff')), 1::bigint,
  'a user without any ledger still gets a (zero) report');

select * from finish();
rollback;
