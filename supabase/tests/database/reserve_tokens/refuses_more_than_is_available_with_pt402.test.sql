-- reserve_tokens refuses with PT402 when the available tokens (balance minus active holds)
-- are short, and writes nothing. Holds that were settled, released or have lapsed no longer
-- count; a lapsed hold stops counting at its expires_at, before any sweep.
begin;
select plan(15);

select tests.create_user('rt-short-alice@example.test', '00000000-0000-4000-b102-000000000001', 100);
select tests.create_user('rt-short-bob@example.test', '00000000-0000-4000-b102-000000000002');

select tests.authenticate_as('00000000-0000-4000-b102-000000000001');
select is(tests.error_summary($$select public.reserve_tokens('chat', 101, 'rt-short-1')$$),
  'PT402 Insufficient tokens. (balance: 100, required: 101)',
  'more than the balance cannot be held: the refusal reports what is available and what was asked');
select set_config('test.h1', public.reserve_tokens('chat', 60, 'rt-short-60') ->> 'hold_id', true);
select is(tests.error_summary($$select public.reserve_tokens('chat', 41, 'rt-short-2')$$),
  'PT402 Insufficient tokens. (balance: 40, required: 41)',
  'held tokens are not available to another hold: the refusal reports the available tokens, not the balance');
select set_config('test.h2', public.reserve_tokens('chat', 40, 'rt-short-40') ->> 'hold_id', true);
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-short-3')$$, 'PT402', null,
  'with everything held, not even one token can be held');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-b102-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1 holds=2 held=100', 'the refused reservations wrote nothing');

-- a released hold no longer counts
select tests.authenticate_as('00000000-0000-4000-b102-000000000001');
select public.release_hold(current_setting('test.h2')::uuid);
select is((public.reserve_tokens('chat', 40, 'rt-short-after-release') ->> 'available_after')::bigint, 0::bigint,
  'a released hold gives its tokens back');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-short-4')$$, 'PT402', null, 'and they are held again');
select tests.clear_authentication();

-- a settled hold no longer counts: what it used left the balance, the rest is free again
select tests.authenticate_as('00000000-0000-4000-b102-000000000001');
select public.settle_hold(current_setting('test.h1')::uuid, 50);
select is(tests.error_detail($$select public.reserve_tokens('chat', 11, 'rt-short-5')$$), 'balance: 10, required: 11',
  'after settling 50 of 60, balance 50 minus the hold of 40 leaves 10');
select is((public.reserve_tokens('chat', 10, 'rt-short-10') ->> 'available_after')::bigint, 0::bigint,
  'those 10 may be held');
select tests.clear_authentication();

-- a lapsed hold stops counting at its expires_at, before the sweep marks it expired
update public.token_holds set expires_at = now() - interval '1 second'
 where user_id = '00000000-0000-4000-b102-000000000001' and idempotency_key = 'rt-short-after-release';
select tests.authenticate_as('00000000-0000-4000-b102-000000000001');
select is((public.reserve_tokens('chat', 40, 'rt-short-lapsed') ->> 'available_after')::bigint, 0::bigint,
  'the tokens of a lapsed, unswept hold may be held again');
select tests.clear_authentication();
select is((select status from public.token_holds
            where user_id = '00000000-0000-4000-b102-000000000001' and idempotency_key = 'rt-short-after-release'),
  'held', 'the lapsed hold itself is still marked held (no sweep ran)');

-- expires_at exactly now has lapsed too
update public.token_holds set expires_at = now()
 where user_id = '00000000-0000-4000-b102-000000000001' and idempotency_key = 'rt-short-lapsed';
select tests.authenticate_as('00000000-0000-4000-b102-000000000001');
select lives_ok($$select public.reserve_tokens('chat', 40, 'rt-short-at-now')$$,
  'a hold whose expires_at is now no longer counts');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-short-6')$$, 'PT402', null, 'but the new hold does');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-b102-000000000001'),
  'balance=50 lots=1 remaining=50 transactions=1 usage=1 used=50 holds=6 held=130', 'only the settle wrote to the ledger');

-- a user without any tokens (and without a balance row)
select tests.authenticate_as('00000000-0000-4000-b102-000000000002');
select is(tests.error_summary($$select public.reserve_tokens('chat', 1, 'rt-short-bob')$$),
  'PT402 Insufficient tokens. (balance: 0, required: 1)',
  'a user without tokens cannot hold any: the refusal reports zero available');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-b102-000000000002'),
  'none', 'nothing was written for bob, not even a balance row');

select * from finish();
rollback;
