-- A lapsed hold (expires_at <= now, swept to 'expired' or not) guarantees nothing: settling
-- it is allowed while the tokens are still available, and then works like any settle (no
-- overage: it never creates debt); when they are not, PT402 and nothing is written.
-- (A lapsed hold is simulated by moving its expires_at back: holds are state, not ledger.)
begin;
select plan(18);
-- `supabase test db` runs on the dev database, which may hold lapsed holds of its own: sweep
-- every hold that could lapse within the times used below first, so the counts are this file's.
select public.expire_holds(now() + interval '1 day');

select tests.create_user('sh-lapsed-alice@example.test', '00000000-0000-4000-b207-000000000001', 100);
select tests.create_user('sh-lapsed-bob@example.test', '00000000-0000-4000-b207-000000000002', 100);

-- alice: two holds of 40 lapse; one stays 'held' (not swept), the other is swept to 'expired'
select set_config('test.a1', tests.reserve_as('00000000-0000-4000-b207-000000000001', 40, 'a1')::text, true);
select set_config('test.a2', tests.reserve_as('00000000-0000-4000-b207-000000000001', 40, 'a2')::text, true);
select tests.lapse_hold(current_setting('test.a1')::uuid), tests.lapse_hold(current_setting('test.a2')::uuid);
select is(public.expire_holds(now() - interval '1 second') ->> 'holds_expired', '2', 'the sweep marks both lapsed holds');
select tests.lapse_hold(current_setting('test.a1')::uuid); -- a1 as it is before the sweep reaches it
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b207-000000000001'), tests.hold_statuses('00000000-0000-4000-b207-000000000001')),
  'balance=100 lots=1 remaining=100 transactions=1 holds=2 held=40 a1:held,a2:expired', 'a1 lapsed unswept, a2 swept');

-- tokens still available: both settle
select set_config('test.r1', tests.settle_as('00000000-0000-4000-b207-000000000001', current_setting('test.a1')::uuid, 30)::text, true);
select set_config('test.r2', tests.settle_as('00000000-0000-4000-b207-000000000001', current_setting('test.a2')::uuid, 50)::text, true);
select is(current_setting('test.r1')::jsonb - 'usage_id' - 'hold_id',
  '{"user_id":"00000000-0000-4000-b207-000000000001","tokens":30,"balance_before":100,"balance_after":70,
    "released":10,"overage_tokens":0,"replayed":false}'::jsonb,
  'a lapsed, unswept hold settles while the tokens are available');
select is(current_setting('test.r2')::jsonb - 'usage_id' - 'hold_id',
  '{"user_id":"00000000-0000-4000-b207-000000000001","tokens":50,"balance_before":70,"balance_after":20,
    "released":0,"overage_tokens":0,"replayed":false}'::jsonb,
  'a swept (expired) hold settles too, even beyond its 40, while the tokens are available');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b207-000000000001'), tests.hold_statuses('00000000-0000-4000-b207-000000000001')),
  'balance=20 lots=1 remaining=20 transactions=1 usage=2 used=80 holds=2 held=0 a1:settled:30,a2:settled:50', 'two usage rows, both holds settled');
select results_eq(
  $$select hold_id::text, overage_tokens from public.token_usage where user_id = '00000000-0000-4000-b207-000000000001' order by tokens$$,
  $$values (current_setting('test.a1'), 0::bigint), (current_setting('test.a2'), 0::bigint)$$,
  'each usage row points at its hold');

-- exactly what is available may be settled
select set_config('test.a3', tests.reserve_as('00000000-0000-4000-b207-000000000001', 5, 'a3')::text, true);
select tests.lapse_hold(current_setting('test.a3')::uuid);
select tests.authenticate_as('00000000-0000-4000-b207-000000000001');
select is((public.settle_hold(current_setting('test.a3')::uuid, 20) ->> 'balance_after')::bigint, 0::bigint,
  'a lapsed hold may settle exactly the available tokens');
select tests.clear_authentication();

-- bob: the tokens of a lapsed hold were taken by someone else in the meantime
select set_config('test.b1', tests.reserve_as('00000000-0000-4000-b207-000000000002', 40, 'b1')::text, true);
select set_config('test.b2', tests.reserve_as('00000000-0000-4000-b207-000000000002', 40, 'b2')::text, true);
select tests.lapse_hold(current_setting('test.b1')::uuid), tests.lapse_hold(current_setting('test.b2')::uuid);
select public.expire_holds(now() - interval '1 second');
select tests.lapse_hold(current_setting('test.b1')::uuid);
select tests.authenticate_as('00000000-0000-4000-b207-000000000002');
select public.reserve_tokens('chat', 90, 'b3'); -- takes what the lapsed holds no longer guarantee
select throws_ok($$select public.settle_hold(current_setting('test.b1')::uuid, 11)$$, 'PT402',
  'The hold lapsed and the tokens are no longer available.', 'a lapsed, unswept hold cannot settle more than is available');
select throws_ok($$select public.settle_hold(current_setting('test.b2')::uuid, 11)$$, 'PT402',
  'The hold lapsed and the tokens are no longer available.', 'nor can a swept one');
select throws_ok($$select public.settle_hold(current_setting('test.b1')::uuid, 40)$$, 'PT402', null,
  'not even the tokens it once held');
select tests.clear_authentication();
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b207-000000000002'), tests.hold_statuses('00000000-0000-4000-b207-000000000002')),
  'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=130 b1:held,b2:expired,b3:held', 'the refused settles wrote nothing');

-- within what is available they settle
select tests.authenticate_as('00000000-0000-4000-b207-000000000002');
select is((public.settle_hold(current_setting('test.b1')::uuid, 6) ->> 'balance_after')::bigint, 94::bigint,
  'the lapsed hold settles 6 of the 10 still available');
select is((public.settle_hold(current_setting('test.b2')::uuid, 4) ->> 'balance_after')::bigint, 90::bigint,
  'the swept hold settles the last 4');
select throws_ok($$select public.record_usage('chat', 1, 'b-usage')$$, 'PT402', null, 'hold b3 is untouched: nothing else is available');
select tests.clear_authentication();
select is(public.get_token_balance('00000000-0000-4000-b207-000000000002') ->> 'held', '90', 'b3 still holds its 90');

select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b207-000000000001')$$, 'alice''s ledger is consistent');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b207-000000000002')$$, 'bob''s ledger is consistent');
select is((select count(*)::int from public.token_usage u join public.token_holds h on h.id = u.hold_id
            where h.user_id in ('00000000-0000-4000-b207-000000000001', '00000000-0000-4000-b207-000000000002')
              and u.overage_tokens > 0), 0, 'a lapsed settle never records an overage');

select * from finish();
rollback;
