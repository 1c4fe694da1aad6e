-- expire_holds(p_as_of) marks every hold still 'held' whose expires_at <= p_as_of as
-- 'expired' (closed at p_as_of, all tokens released) and returns how many. Active, settled
-- and released holds are left alone; running it again finds nothing; the ledger is untouched.
begin;
select plan(11);
-- `supabase test db` runs on the dev database, which may hold lapsed holds of its own: sweep
-- every hold that could lapse within the times used below first, so the counts are this file's.
select public.expire_holds(now() + interval '1 day');

select tests.create_user('eh-sweep-alice@example.test', '00000000-0000-4000-b401-000000000001', 100);
select tests.create_user('eh-sweep-bob@example.test', '00000000-0000-4000-b401-000000000002', 100);

-- alice: active, lapsed a second ago, lapsing exactly now, settled then lapsed, released then lapsed
select public.reserve_tokens('chat', 10, 'active', '00000000-0000-4000-b401-000000000001');
select public.reserve_tokens('chat', 11, 'lapsed', '00000000-0000-4000-b401-000000000001');
select public.reserve_tokens('chat', 12, 'at-now', '00000000-0000-4000-b401-000000000001');
select public.settle_hold((public.reserve_tokens('chat', 13, 'settled', '00000000-0000-4000-b401-000000000001') ->> 'hold_id')::uuid, 5);
select public.release_hold((public.reserve_tokens('chat', 14, 'released', '00000000-0000-4000-b401-000000000001') ->> 'hold_id')::uuid);
-- bob: one lapsed hold
select public.reserve_tokens('chat', 20, 'lapsed', '00000000-0000-4000-b401-000000000002');
update public.token_holds set expires_at = now() - interval '1 second'
 where user_id in ('00000000-0000-4000-b401-000000000001', '00000000-0000-4000-b401-000000000002') and idempotency_key <> 'active';
update public.token_holds set expires_at = now()
 where user_id = '00000000-0000-4000-b401-000000000001' and idempotency_key = 'at-now';

create temporary table before_sweep as
  select id, status, tokens_used, tokens_released, closed_at from public.token_holds
   where user_id in ('00000000-0000-4000-b401-000000000001', '00000000-0000-4000-b401-000000000002');

select is(public.expire_holds(now()), '{"holds_expired": 3}'::jsonb, 'three holds had lapsed while still held');
select results_eq(
  $$select idempotency_key, status, tokens_released, closed_at = now()
      from public.token_holds where user_id = '00000000-0000-4000-b401-000000000001' order by idempotency_key$$,
  $$values ('active'::text, 'held'::text, null::bigint, null::boolean),
           ('at-now', 'expired', 12::bigint, true),
           ('lapsed', 'expired', 11::bigint, true),
           ('released', 'released', 14::bigint, true),
           ('settled', 'settled', 8::bigint, true)$$,
  'lapsed holds are expired (all their tokens released, closed at p_as_of); active, settled and released ones are not');
select results_eq(
  $$select status, tokens_used from public.token_holds where user_id = '00000000-0000-4000-b401-000000000002'$$,
  $$values ('expired'::text, null::bigint)$$, 'every user''s lapsed holds are swept; an expired hold used nothing');
select is_empty(
  $$select h.id from public.token_holds h join before_sweep b using (id)
     where h.status in ('settled', 'released') and (h.status, h.tokens_used, h.tokens_released, h.closed_at)
       is distinct from (b.status, b.tokens_used, b.tokens_released, b.closed_at)$$,
  'settled and released holds are exactly as they were');

select is(public.expire_holds(now()), '{"holds_expired": 0}'::jsonb, 'a second run finds nothing to do');
select is(public.expire_holds(now() - interval '1 hour') ->> 'holds_expired', '0', 'an earlier p_as_of finds nothing either');

select is(public.get_token_balance('00000000-0000-4000-b401-000000000001') - 'lots' - 'next_expiry' - 'next_drip_at',
  '{"user_id":"00000000-0000-4000-b401-000000000001","balance":95,"debt":0,"held":10,"available":85}'::jsonb,
  'alice: only the active hold is held');
select is((select count(*)::int from public.token_usage
            where user_id in ('00000000-0000-4000-b401-000000000001', '00000000-0000-4000-b401-000000000002')), 1,
  'the sweep wrote no usage (the one row is the settle''s)');
select is((select count(*)::int from public.token_transactions
            where user_id in ('00000000-0000-4000-b401-000000000001', '00000000-0000-4000-b401-000000000002')), 2,
  'nor any transaction');

-- p_as_of decides: a later time expires the holds that will have lapsed by then
select is(public.expire_holds(now() + interval '601 seconds') ->> 'holds_expired', '1',
  'a p_as_of after the active hold''s expiry expires it too');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
