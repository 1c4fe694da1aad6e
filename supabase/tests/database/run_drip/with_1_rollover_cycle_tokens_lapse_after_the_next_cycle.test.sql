-- Expiry after max_rollover_cycles = 1 (the default plan), no usage: cycle 1's tokens roll
-- into cycle 2 and lapse when cycle 2 ends, recorded in cycle 3's expired_tokens. The balance
-- levels off at two drips.
begin;
select plan(6);
set local timezone to 'UTC';

select tests.create_subscriber('rd-rollover1@example.test', '00000000-0000-4000-d106-000000000001', '00000000-0000-4000-d106-0000000000a1');

select public.run_drip('00000000-0000-4000-d106-0000000000a1', now());
select is((public.run_drip('00000000-0000-4000-d106-0000000000a1', now() + interval '28 days') ->> 'tokens_expired')::bigint,
  0::bigint, 'cycle 2 expires nothing: cycle 1 rolls over');
select is((public.run_drip('00000000-0000-4000-d106-0000000000a1', now() + interval '56 days') ->> 'tokens_expired')::bigint,
  375000::bigint, 'cycle 3 expires cycle 1''s 375,000');
select is((public.run_drip('00000000-0000-4000-d106-0000000000a1', now() + interval '84 days') ->> 'tokens_expired')::bigint,
  375000::bigint, 'cycle 4 expires cycle 2''s 375,000');

select results_eq(
  $$select * from tests.drip_rows('00000000-0000-4000-d106-0000000000a1')$$,
  $$values
    (1, 375000::bigint,      0::bigint, 0,      0::bigint,      0::bigint, 375000::bigint, now(), now() + interval '28 days', now()),
    (2, 375000::bigint, 375000::bigint, 1,      0::bigint, 375000::bigint, 750000::bigint,
        now() + interval '28 days', now() + interval '56 days', now() + interval '28 days'),
    (3, 375000::bigint, 375000::bigint, 1, 375000::bigint, 750000::bigint, 750000::bigint,
        now() + interval '56 days', now() + interval '84 days', now() + interval '56 days'),
    (4, 375000::bigint, 375000::bigint, 1, 375000::bigint, 750000::bigint, 750000::bigint,
        now() + interval '84 days', now() + interval '112 days', now() + interval '84 days')$$,
  'one cycle rolls over; from cycle 3 on each boundary expires the drip of two cycles back');
select results_eq(
  $$select d.cycle_number, l.remaining, l.expires_at from public.token_lots l join public.token_drips d on d.id = l.drip_id
     where l.user_id = '00000000-0000-4000-d106-000000000001' order by d.cycle_number$$,
  $$values (1, 0::bigint, now() + interval '56 days'), (2, 0::bigint, now() + interval '84 days'),
           (3, 375000::bigint, now() + interval '112 days'), (4, 375000::bigint, now() + interval '140 days')$$,
  'each lot expires when the cycle after its own ends');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d106-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
