-- A legacy balance can hold drip tokens, which by the drip rules roll over one cycle and then
-- expire. The upgrade carries each user's balance as opening_balance transactions, one lot
-- each: what the user's latest legacy drip left is drip tokens (the soonest-expiring tokens
-- are spent first, so the rest of the balance is the tokens bought or granted), each drip lot
-- expiring when the rules say: the latest cycle's drip when the next cycle ends, what it
-- carried over when that cycle ends. Drip lots belong to their legacy subscription. Lots whose
-- time had passed are expired by the upgrade, each through an `expiration` transaction, as the
-- sweep would; the rest lapse on schedule.
begin;
select plan(10);
set local timezone to 'UTC';

-- The start of each user's latest legacy cycle, and H (the hour the legacy rows were dated from).
create temporary table last_cycle as
select distinct on (d.user_id) d.user_id, d.subscription_id, d.billing_period_start as start_at
from public.token_drips d where d.is_legacy and d.billing_period_start is not null
order by d.user_id, d.billing_period_start desc;
select set_config('test.h', (select (start_at + interval '20 days')::text from last_cycle
                             where user_id = 'b1000000-0000-4000-8000-000000000011'), true);

select results_eq(
  $$select l.user_id, l.source, l.original, l.expires_at, l.subscription_id
      from public.token_lots l order by l.user_id, l.expires_at nulls last, l.original$$,
  $$values
    ('70000000-0000-4000-8000-000000000007'::uuid, 'drip', 375000::bigint, '2025-07-27 00:00+00'::timestamptz, '57000000-0000-4000-8000-000000000007'::uuid),
    ('a0000000-0000-4000-8000-000000000001', 'drip', 137345, '2025-04-09 00:00+00', '5a000000-0000-4000-8000-00000000000a'),
    ('a0000000-0000-4000-8000-000000000001', 'drip', 375000, '2025-05-07 00:00+00', '5a000000-0000-4000-8000-00000000000a'),
    ('b0000000-0000-4000-8000-000000000002', 'drip', 39500, '2025-03-29 00:00+00', '5b000000-0000-4000-8000-00000000000b'),
    ('b0000000-0000-4000-8000-000000000002', 'opening_balance', 50500, null, null),
    ('b1000000-0000-4000-8000-000000000011', 'drip', 175000, current_setting('test.h')::timestamptz + interval '8 days', '5b100000-0000-4000-8000-000000000011'),
    ('b1000000-0000-4000-8000-000000000011', 'drip', 375000, current_setting('test.h')::timestamptz + interval '36 days', '5b100000-0000-4000-8000-000000000011'),
    ('b1000000-0000-4000-8000-000000000011', 'opening_balance', 150000, null, null),
    ('b2000000-0000-4000-8000-000000000012', 'drip', 100000, current_setting('test.h')::timestamptz + interval '18 days', '5b200000-0000-4000-8000-000000000012'),
    ('b2000000-0000-4000-8000-000000000012', 'drip', 375000, current_setting('test.h')::timestamptz + interval '46 days', '5b200000-0000-4000-8000-000000000012'),
    ('b3000000-0000-4000-8000-000000000013', 'drip', 50000, current_setting('test.h')::timestamptz - interval '2 days', '5b300000-0000-4000-8000-000000000013'),
    ('b3000000-0000-4000-8000-000000000013', 'drip', 375000, current_setting('test.h')::timestamptz + interval '26 days', '5b300000-0000-4000-8000-000000000013'),
    ('e0000000-0000-4000-8000-000000000005', 'opening_balance', 20000, null, null),
    ('f0000000-0000-4000-8000-000000000006', 'opening_balance', 2147483647, null, null)$$,
  'each balance split into permanent tokens and drip lots that expire as the rules say');
select is_empty(
  $$select 1 from public.token_lots l join public.token_transactions t on t.id = l.transaction_id
     where t.transaction_type <> 'opening_balance' or t.user_id <> l.user_id
    union all select 1 from public.token_lots l where l.transaction_id is null$$,
  'every lot comes from one opening_balance transaction of its user');
select is_empty(
  $$select 1 from public.token_lots l join public.token_transactions t on t.id = l.transaction_id
     where t.token_amount <> l.original or t.expires_at is distinct from l.expires_at
    union all select 1 from public.token_lots group by transaction_id having count(*) > 1$$,
  'one lot per transaction, of its amount and expiry');
select results_eq(
  $$select l.user_id, l.original, d.cycle_number from public.token_lots l join public.token_drips d on d.id = l.drip_id
     where l.source = 'drip' and l.user_id in ('b1000000-0000-4000-8000-000000000011', 'b3000000-0000-4000-8000-000000000013')
     order by l.user_id, d.cycle_number$$,
  $$values ('b1000000-0000-4000-8000-000000000011'::uuid, 175000::bigint, 6), ('b1000000-0000-4000-8000-000000000011', 375000, 7),
           ('b3000000-0000-4000-8000-000000000013', 375000, 4)$$,
  'a drip lot names the legacy drip it came from, when known');
select is_empty('select * from public.verify_token_ledger()', 'the ledger is consistent right after the upgrade');

-- What the rules expired before the upgrade is gone already, as the sweep would have it.
select results_eq(
  $$select t.user_id, sum(t.token_amount)::bigint, count(*)::int from public.token_transactions t
     where t.transaction_type = 'expiration' group by t.user_id order by t.user_id$$,
  $$values ('70000000-0000-4000-8000-000000000007'::uuid, -375000::bigint, 1), ('a0000000-0000-4000-8000-000000000001', -512345, 2),
           ('b0000000-0000-4000-8000-000000000002', -39500, 1), ('b3000000-0000-4000-8000-000000000013', -50000, 1)$$,
  'the upgrade expired alice''s, bob''s and grace''s drip tokens of 2025 and noor''s carried-over 50,000: one expiration per lot');
select tests.authenticate_as_service_role();
select is(public.expire_tokens(now()), '{"users": 0, "tokens_expired": 0}'::jsonb, 'the next sweep finds nothing more');
select tests.clear_authentication();
select results_eq(
  $$select user_id, balance from public.token_balances
     where user_id in ('70000000-0000-4000-8000-000000000007', 'a0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000002',
                       'b1000000-0000-4000-8000-000000000011', 'b2000000-0000-4000-8000-000000000012', 'b3000000-0000-4000-8000-000000000013')
     order by user_id$$,
  $$values ('70000000-0000-4000-8000-000000000007'::uuid, 0::bigint), ('a0000000-0000-4000-8000-000000000001', 0),
           ('b0000000-0000-4000-8000-000000000002', 50500), ('b1000000-0000-4000-8000-000000000011', 700000),
           ('b2000000-0000-4000-8000-000000000012', 475000), ('b3000000-0000-4000-8000-000000000013', 375000)$$,
  'balances after the upgrade; kim''s and lena''s drip tokens are still in their time');
select is_empty('select * from public.verify_token_ledger()', 'the ledger is consistent after the sweep');
select is((select count(*) from (select distinct l.user_id from public.token_lots l) u
            cross join lateral public.reconcile_token_ledger(u.user_id, true) r where cardinality(r.problems) > 0), 0::bigint,
  'the deep reconciliation finds nothing: a replay of each user''s entries gives the lots stored');

select * from finish();
rollback;
