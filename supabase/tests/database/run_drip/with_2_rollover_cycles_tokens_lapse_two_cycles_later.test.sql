-- Expiry after max_rollover_cycles = 2: a drip rolls over two cycles and lapses when cycle
-- n + 2 ends. Unused tokens of two earlier cycles carry (rollover_cycles_count 2) and the
-- balance levels off at three drips; usage leaves the lot it emptied out of the count.
begin;
select plan(8);
set local timezone to 'UTC';

insert into public.subscription_plans (id, name, drip_tokens, drip_interval, max_rollover_cycles, max_rollover_tokens)
values ('rd-rollover-2', 'Two rollover cycles', 375000, interval '28 days', 2, null);
select tests.create_subscriber('rd-rollover2@example.test', '00000000-0000-4000-d107-000000000001', '00000000-0000-4000-d107-0000000000a1', 'rd-rollover-2');

select public.run_drip('00000000-0000-4000-d107-0000000000a1', now());
select is((select expires_at from public.token_lots where user_id = '00000000-0000-4000-d107-000000000001'),
  now() + interval '84 days', 'the cycle 1 lot expires when cycle 3 ends');
select public.run_drip('00000000-0000-4000-d107-0000000000a1', now() + interval '28 days');
select public.run_drip('00000000-0000-4000-d107-0000000000a1', now() + interval '56 days');
select is((public.run_drip('00000000-0000-4000-d107-0000000000a1', now() + interval '84 days') ->> 'tokens_expired')::bigint,
  375000::bigint, 'cycle 4 expires cycle 1''s drip');
-- spend all of cycle 2's lot and part of cycle 3's (burn order: soonest expiry first)
select is((public.record_usage('chat', 400000, 'rd-rollover2-1', '00000000-0000-4000-d107-000000000001') ->> 'balance_after')::bigint,
  725000::bigint, 'spend 400,000 during cycle 4');
select is((public.run_drip('00000000-0000-4000-d107-0000000000a1', now() + interval '112 days') ->> 'tokens_expired')::bigint,
  0::bigint, 'cycle 5: cycle 2''s lot lapses empty, nothing expires');

select results_eq(
  $$select * from tests.drip_rows('00000000-0000-4000-d107-0000000000a1')$$,
  $$values
    (1, 375000::bigint,      0::bigint, 0,      0::bigint,       0::bigint,  375000::bigint, now(), now() + interval '28 days', now()),
    (2, 375000::bigint, 375000::bigint, 1,      0::bigint,  375000::bigint,  750000::bigint,
        now() + interval '28 days', now() + interval '56 days', now() + interval '28 days'),
    (3, 375000::bigint, 750000::bigint, 2,      0::bigint,  750000::bigint, 1125000::bigint,
        now() + interval '56 days', now() + interval '84 days', now() + interval '56 days'),
    (4, 375000::bigint, 750000::bigint, 2, 375000::bigint, 1125000::bigint, 1125000::bigint,
        now() + interval '84 days', now() + interval '112 days', now() + interval '84 days'),
    (5, 375000::bigint, 725000::bigint, 2,      0::bigint,  725000::bigint, 1100000::bigint,
        now() + interval '112 days', now() + interval '140 days', now() + interval '112 days')$$,
  'two cycles roll over; cycle 4 expires cycle 1; cycle 5 carries cycles 3 and 4');
select results_eq(
  $$select d.cycle_number, l.remaining, l.expires_at from public.token_lots l join public.token_drips d on d.id = l.drip_id
     where l.user_id = '00000000-0000-4000-d107-000000000001' order by d.cycle_number$$,
  $$values (1, 0::bigint, now() + interval '84 days'), (2, 0::bigint, now() + interval '112 days'),
           (3, 350000::bigint, now() + interval '140 days'), (4, 375000::bigint, now() + interval '168 days'),
           (5, 375000::bigint, now() + interval '196 days')$$,
  'each lot expires when cycle n + 2 ends');
select results_eq(
  $$select balance from public.token_balances where user_id = '00000000-0000-4000-d107-000000000001'$$,
  $$values (1100000::bigint)$$, 'the balance');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d107-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
