-- Right after the upgrade: each user with legacy history has one opening balance carrying the
-- balance_after of their latest legacy row (token_transactions or token_drips, by created_at;
-- rows without a balance_after state none), 0 when there is none, negative as debt: the
-- transaction keyed opening_balance:<user>, plus one per drip lot when part of it is drip
-- tokens (how: legacy_drip_tokens_keep_the_expiry_the_drip_rules_give_them). Balances, lots
-- and debt agree, and verify_token_ledger() is empty.
begin;
select plan(12);

select results_eq(
  $$select user_id, sum(token_amount)::bigint, count(*) filter (where idempotency_key = 'opening_balance:' || user_id)::int,
           min(source)
      from public.token_transactions where transaction_type = 'opening_balance' group by user_id order by user_id$$,
  $$values
    ('10000000-0000-4000-8000-000000000010'::uuid, 0::bigint, 1, 'legacy'),
    ('70000000-0000-4000-8000-000000000007', 375000, 1, 'legacy'),
    ('80000000-0000-4000-8000-000000000008', -2147483648, 1, 'legacy'),
    ('a0000000-0000-4000-8000-000000000001', 512345, 1, 'legacy'),
    ('b0000000-0000-4000-8000-000000000002', 90000, 1, 'legacy'),
    ('b1000000-0000-4000-8000-000000000011', 700000, 1, 'legacy'),
    ('b2000000-0000-4000-8000-000000000012', 475000, 1, 'legacy'),
    ('b3000000-0000-4000-8000-000000000013', 425000, 1, 'legacy'),
    ('c0000000-0000-4000-8000-000000000003', 0, 1, 'legacy'),
    ('d0000000-0000-4000-8000-000000000004', -1500, 1, 'legacy'),
    ('e0000000-0000-4000-8000-000000000005', 20000, 1, 'legacy'),
    ('f0000000-0000-4000-8000-000000000006', 2147483647, 1, 'legacy')$$,
  'one opening balance per user with history: the balance_after of the latest legacy row');
select is((select metadata -> 'legacy_balance' from public.token_transactions
            where idempotency_key = 'opening_balance:a0000000-0000-4000-8000-000000000001'),
  '512345'::jsonb, 'the opening balance records the legacy balance in its metadata');

select results_eq(
  'select user_id, balance, debt from public.token_balances order by user_id',
  $$values
    ('10000000-0000-4000-8000-000000000010'::uuid, 0::bigint, 0::bigint),
    ('70000000-0000-4000-8000-000000000007', 0, 0),
    ('80000000-0000-4000-8000-000000000008', -2147483648, 2147483648),
    ('a0000000-0000-4000-8000-000000000001', 0, 0),
    ('b0000000-0000-4000-8000-000000000002', 50500, 0),
    ('b1000000-0000-4000-8000-000000000011', 700000, 0),
    ('b2000000-0000-4000-8000-000000000012', 475000, 0),
    ('b3000000-0000-4000-8000-000000000013', 375000, 0),
    ('c0000000-0000-4000-8000-000000000003', 0, 0),
    ('d0000000-0000-4000-8000-000000000004', -1500, 1500),
    ('e0000000-0000-4000-8000-000000000005', 20000, 0),
    ('f0000000-0000-4000-8000-000000000006', 2147483647, 0)$$,
  'balances continue from the legacy ones, less the drip tokens whose time had passed; negative ones are debt');
select results_eq(
  $$select user_id, sum(original)::bigint, sum(remaining)::bigint from public.token_lots group by user_id order by user_id$$,
  $$values
    ('70000000-0000-4000-8000-000000000007'::uuid, 375000::bigint, 0::bigint),
    ('a0000000-0000-4000-8000-000000000001', 512345, 0),
    ('b0000000-0000-4000-8000-000000000002', 90000, 50500),
    ('b1000000-0000-4000-8000-000000000011', 700000, 700000),
    ('b2000000-0000-4000-8000-000000000012', 475000, 475000),
    ('b3000000-0000-4000-8000-000000000013', 425000, 375000),
    ('e0000000-0000-4000-8000-000000000005', 20000, 20000),
    ('f0000000-0000-4000-8000-000000000006', 2147483647, 2147483647)$$,
  'the lots of each positive opening balance were given all of it (what lapsed is gone); zero and negative ones have none');
select is_empty(
  $$select 1 from public.token_transactions where user_id = '90000000-0000-4000-8000-000000000009'
    union all select 1 from public.token_balances where user_id = '90000000-0000-4000-8000-000000000009'$$,
  'a user without token history gets no opening balance');

-- The ledger explains every balance right after the upgrade, as the superuser and as the service.
select is_empty('select * from public.verify_token_ledger()', 'verify_token_ledger() is empty after the upgrade');

select tests.authenticate_as_service_role();
select is_empty('select * from public.verify_token_ledger()', 'verify_token_ledger() is empty for service_role too');
select is((public.get_token_balance('a0000000-0000-4000-8000-000000000001') ->> 'balance')::bigint, 0::bigint,
  'get_token_balance: alice''s 512345 (latest row a drip, one second after a transaction) are drip tokens that lapsed in 2025');
select is((public.get_token_balance('b1000000-0000-4000-8000-000000000011') ->> 'balance')::bigint, 700000::bigint,
  'get_token_balance: kim has all her 700000');
select is(
  (select jsonb_object_agg(e.key, e.value) from jsonb_each(
     public.get_token_balance('d0000000-0000-4000-8000-000000000004'))
   e where e.key in ('balance', 'debt')),
  '{"balance": -1500, "debt": 1500}'::jsonb, 'get_token_balance: dave owes 1500');
select is((public.get_token_balance('c0000000-0000-4000-8000-000000000003') ->> 'balance')::bigint, 0::bigint,
  'get_token_balance: carol (usage rows only) has 0');
select is((public.get_token_balance('80000000-0000-4000-8000-000000000008') ->> 'debt')::bigint, 2147483648::bigint,
  'get_token_balance: heidi owes more than an INTEGER holds');
select tests.clear_authentication();

select * from finish();
rollback;
