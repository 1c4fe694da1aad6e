-- A hold reserves tokens from the balance, not from particular lots: tokens that expire while
-- they are held are gone. settle_hold then spends what the user still has and reports the rest
-- as the usage row's overage_tokens, which becomes debt. Debt never appears without a usage
-- row showing it (docs/holds.md, "Lots that expire under a hold").
-- (The lots lapsing is simulated by moving their expires_at back: lots are state, not ledger.)
begin;
select plan(12);

select tests.create_user('sh-expired-under-' || n || '@example.test', ('00000000-0000-4000-c901-00000000000' || n)::uuid)
  from generate_series(1, 4) n;
-- everyone: 1,000 tokens that expire (the issue's "in 2 s"); 2 and 4 also have permanent ones
select public.grant_tokens(('00000000-0000-4000-c901-00000000000' || n)::uuid, 1000, 'admin_grant', 'c901-expiring-' || n,
                           null, now() + interval '1 hour')
  from generate_series(1, 4) n;
select public.grant_tokens('00000000-0000-4000-c901-000000000002', 300, 'admin_grant', 'c901-permanent-2');
select public.grant_tokens('00000000-0000-4000-c901-000000000004', 100, 'admin_grant', 'c901-permanent-4');

-- each reserves 800 for 600 s
select tests.authenticate_as(('00000000-0000-4000-c901-00000000000' || n)::uuid),
       set_config('test.hold' || n, public.reserve_tokens('chat', 800, 'c901-hold', null, 600) ->> 'hold_id', true)
  from generate_series(1, 4) n;
select tests.clear_authentication();

-- the expiring lots lapse while the holds are still active
update public.token_lots set expires_at = now() - interval '1 second'
 where user_id::text like '00000000-0000-4000-c901-%' and expires_at is not null;

-- 1: nothing left at all; the whole hold's worth is overage
select set_config('test.r1', tests.settle_as('00000000-0000-4000-c901-000000000001', current_setting('test.hold1')::uuid, 800)::text, true);
-- 2: 300 permanent tokens left; they pay, the other 500 are overage
select set_config('test.r2', tests.settle_as('00000000-0000-4000-c901-000000000002', current_setting('test.hold2')::uuid, 800)::text, true);
-- 3: below the hold, with nothing left: the 100 used are overage, the rest of the hold is freed
select set_config('test.r3', tests.settle_as('00000000-0000-4000-c901-000000000003', current_setting('test.hold3')::uuid, 100)::text, true);
-- 4: above the hold, 100 permanent tokens left: 100 paid, 800 overage
select set_config('test.r4', tests.settle_as('00000000-0000-4000-c901-000000000004', current_setting('test.hold4')::uuid, 900)::text, true);

-- what each settle should be judged by: its result, its usage row, the debt
select is(tests.settle_outcome(current_setting('test.r' || c.n)::jsonb), c.outcome, c.description)
  from (values
    (1, 'tokens=800 before=0 after=-800 released=0 overage=800 row_overage=800 debt=800',
        'all the held tokens expired: the settle succeeds and its usage row shows all 800 as overage'),
    (2, 'tokens=800 before=300 after=-500 released=0 overage=500 row_overage=500 debt=500',
        'the 300 tokens the user still has pay; the 500 that expired under the hold are overage'),
    (3, 'tokens=100 before=0 after=-100 released=700 overage=100 row_overage=100 debt=100',
        'below the hold: what is used but no longer there is overage, the rest of the hold is freed'),
    (4, 'tokens=900 before=100 after=-800 released=0 overage=800 row_overage=800 debt=800',
        'above the hold: everything the remaining tokens do not cover is overage')
  ) c(n, outcome, description)
  order by c.n;

-- the expired tokens left through expiration transactions, before the settles
select is((select count(*)::int from public.token_transactions t
            where t.user_id::text like '00000000-0000-4000-c901-%' and t.transaction_type = 'expiration'
              and t.token_amount = -1000), 4, 'each user''s 1,000 expired through an expiration transaction');

-- debt never appears without a usage row showing it
select is((select b.debt from public.token_balances b where b.user_id = u.id),
          (select coalesce(sum(x.overage_tokens), 0)::bigint from public.token_usage x where x.user_id = u.id),
          'debt of user ' || n || ' = the overage its usage rows show')
  from generate_series(1, 4) n, lateral (select ('00000000-0000-4000-c901-00000000000' || n)::uuid as id) u;
select is((select count(*)::int from public.token_holds h where h.user_id::text like '00000000-0000-4000-c901-%' and h.status = 'settled'),
  4, 'every hold is settled');
select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-c901-%'$$,
  'the ledger explains every balance');
select is((select sum(l.remaining)::bigint from public.token_lots l where l.user_id::text like '00000000-0000-4000-c901-%'),
  0::bigint, 'no lot holds tokens any more');

select * from finish();
rollback;
