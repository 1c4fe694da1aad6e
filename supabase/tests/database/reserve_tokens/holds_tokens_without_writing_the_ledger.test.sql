-- reserve_tokens puts tokens on hold: it returns the hold (id, user, tokens, expiry, what is
-- left available, status) and writes one token_holds row, but no ledger row: the balance and
-- the lots stay as they were, only `available` goes down.
begin;
select plan(20);

select tests.create_user('rt-happy-alice@example.test', '00000000-0000-4000-b101-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b101-000000000001');
select set_config('test.r', public.reserve_tokens('chat', 30, 'rt-happy-1')::text, true);
select tests.clear_authentication();

select is(current_setting('test.r')::jsonb ->> 'user_id', '00000000-0000-4000-b101-000000000001', 'the hold is the caller''s');
select is((current_setting('test.r')::jsonb ->> 'tokens_held')::bigint, 30::bigint, 'it holds the tokens asked for');
select is(current_setting('test.r')::jsonb ->> 'status', 'held', 'its status is held');
select is((current_setting('test.r')::jsonb ->> 'available_after')::bigint, 70::bigint, 'available_after is the balance minus the hold');
select is((current_setting('test.r')::jsonb ->> 'expires_at')::timestamptz, now() + interval '600 seconds',
  'by default it lasts 600 seconds');
select is(current_setting('test.r')::jsonb -> 'replayed', 'false'::jsonb, 'a first reservation is not a replay');
select results_eq(
  $$select array_agg(k order by k) from jsonb_object_keys(current_setting('test.r')::jsonb) k$$,
  $$values (array['available_after', 'expires_at', 'hold_id', 'replayed', 'status', 'tokens_held', 'user_id'])$$,
  'the result has exactly the documented fields');

select results_eq(
  $$select h.id::text, h.user_id::text, h.feature, h.tokens_held, h.idempotency_key, h.status, h.available_after,
           h.expires_at = now() + interval '600 seconds', h.usage_id, h.tokens_used, h.tokens_released, h.closed_at
      from public.token_holds h where h.user_id = '00000000-0000-4000-b101-000000000001'$$,
  $$values (current_setting('test.r')::jsonb ->> 'hold_id', '00000000-0000-4000-b101-000000000001'::text, 'chat'::text,
            30::bigint, 'rt-happy-1'::text, 'held'::text, 70::bigint, true, null::uuid, null::bigint, null::bigint,
            null::timestamptz)$$,
  'one token_holds row with the hold''s id, feature, tokens, key and expiry, not closed');
select is(tests.ledger_footprint('00000000-0000-4000-b101-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1 holds=1 held=30',
  'a hold is state, not ledger: no usage, no transaction, the balance and lots unchanged');
select is(public.get_token_balance('00000000-0000-4000-b101-000000000001') - 'lots' - 'next_expiry' - 'next_drip_at',
  '{"user_id":"00000000-0000-4000-b101-000000000001","balance":100,"debt":0,"held":30,"available":70}'::jsonb,
  'get_token_balance reports the balance, the held tokens and what is available');

-- a second hold with its own TTL counts the first
select tests.authenticate_as('00000000-0000-4000-b101-000000000001');
select set_config('test.r2', public.reserve_tokens('vision_generation', 45, 'rt-happy-2', null, 60)::text, true);
select tests.clear_authentication();
select is((current_setting('test.r2')::jsonb ->> 'available_after')::bigint, 25::bigint,
  'a second hold sees what the first left available');
select is((current_setting('test.r2')::jsonb ->> 'expires_at')::timestamptz, now() + interval '60 seconds',
  'p_ttl_seconds sets the expiry');
select isnt(current_setting('test.r2')::jsonb ->> 'hold_id', current_setting('test.r')::jsonb ->> 'hold_id',
  'it is a hold of its own');
select is((select feature from public.token_holds where id = (current_setting('test.r2')::jsonb ->> 'hold_id')::uuid),
  'vision_generation', 'the hold keeps its feature');

-- exactly what is available may be held (p_user_id naming oneself is the same as null)
select tests.authenticate_as('00000000-0000-4000-b101-000000000001');
select set_config('test.r3', public.reserve_tokens('chat', 25, 'rt-happy-3', '00000000-0000-4000-b101-000000000001')::text, true);
select tests.clear_authentication();
select is((current_setting('test.r3')::jsonb ->> 'available_after')::bigint, 0::bigint, 'the last available tokens may be held');
select is(public.get_token_balance('00000000-0000-4000-b101-000000000001') ->> 'held', '100', 'all 100 tokens are held');
select is(public.get_token_balance('00000000-0000-4000-b101-000000000001') ->> 'available', '0', 'none is available');
select is(tests.ledger_footprint('00000000-0000-4000-b101-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=100', 'three holds, still no ledger row');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b101-000000000001')$$, 'the ledger is consistent');
select is((select count(*)::int from public.token_holds where user_id = '00000000-0000-4000-b101-000000000001' and status = 'held'),
  3, 'all three holds are held');

select * from finish();
rollback;
