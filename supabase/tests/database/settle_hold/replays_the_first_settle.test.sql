-- Settling a hold twice returns the first result with replayed:true and writes nothing,
-- whoever retries and whatever tokens the retry names (the first settle decided). A replay
-- needs no tokens and still works after the hold has lapsed or been swept.
begin;
select plan(11);

select tests.create_user('sh-replay-alice@example.test', '00000000-0000-4000-b211-000000000001', 100);

select set_config('test.h', tests.reserve_as('00000000-0000-4000-b211-000000000001', 40, 'h')::text, true);
select is(tests.replay(tests.caller_claims('user', '00000000-0000-4000-b211-000000000001'),
    pg_catalog.format($$select public.settle_hold(%L, 25, 'model-a', '{"q":1}')$$, current_setting('test.h'))),
  'replayed: the first result',
  'settling again is a replay: it returns the first result (usage id, tokens, balances, released, overage)');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b211-000000000001'), tests.hold_statuses('00000000-0000-4000-b211-000000000001')), 'balance=75 lots=1 remaining=75 transactions=1 usage=1 used=25 holds=1 held=0 h:settled:25',
  'a replay writes nothing');

-- the first settle decided: a retry with other tokens, model or metadata replays it
select tests.authenticate_as('00000000-0000-4000-b211-000000000001');
select is(public.settle_hold(current_setting('test.h')::uuid, 39) - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'a retry naming other tokens gets the first result');
select is(public.settle_hold(current_setting('test.h')::uuid, 25, 'model-b', '{"q":2}') -> 'replayed', 'true'::jsonb,
  'a retry naming another model and metadata too');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select is(public.settle_hold(current_setting('test.h')::uuid, 25) - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'the service retrying the user''s settle replays it');
select tests.clear_authentication();

-- a replay needs no tokens any more, and the hold may have lapsed and been swept since
select tests.authenticate_as('00000000-0000-4000-b211-000000000001');
select public.record_usage('chat', 75, 'spend-the-rest');
select tests.clear_authentication();
select tests.lapse_hold(current_setting('test.h')::uuid);
select public.expire_holds(now());
select tests.authenticate_as('00000000-0000-4000-b211-000000000001');
select is(public.settle_hold(current_setting('test.h')::uuid, 25) - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'a replay with no tokens left, after the hold''s expiry and a sweep, still returns the first result');
select tests.clear_authentication();
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b211-000000000001'), tests.hold_statuses('00000000-0000-4000-b211-000000000001')), 'balance=0 lots=1 remaining=0 transactions=1 usage=2 used=100 holds=1 held=0 h:settled:25',
  'the sweep left the settled hold alone; the replays wrote nothing');

-- a settle beyond the hold replays with its overage
select public.grant_tokens('00000000-0000-4000-b211-000000000001', 10, 'admin_grant', 'sh-replay-grant2');
select set_config('test.h2', tests.reserve_as('00000000-0000-4000-b211-000000000001', 10, 'h2')::text, true);
select set_config('test.first2', tests.settle_as('00000000-0000-4000-b211-000000000001', current_setting('test.h2')::uuid, 15)::text, true);
select is(tests.settle_outcome(tests.settle_as('00000000-0000-4000-b211-000000000001', current_setting('test.h2')::uuid, 15)),
  'tokens=15 before=10 after=-5 released=0 overage=5 row_overage=5 debt=5 replayed',
  'the first settle of h2 had an overage of 5, and its replay reports the same overage');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b211-000000000001'), tests.hold_statuses('00000000-0000-4000-b211-000000000001')), 'balance=-5 debt=5 lots=2 remaining=0 transactions=2 usage=3 used=115 holds=2 held=0 h:settled:25,h2:settled:15',
  'the overage became debt once');

-- a zero settle replays too
select public.grant_tokens('00000000-0000-4000-b211-000000000001', 10, 'admin_grant', 'sh-replay-grant3');
select set_config('test.h3', tests.reserve_as('00000000-0000-4000-b211-000000000001', 5, 'h3')::text, true);
select tests.settle_as('00000000-0000-4000-b211-000000000001', current_setting('test.h3')::uuid, 0);
select is(tests.settle_outcome(tests.settle_as('00000000-0000-4000-b211-000000000001', current_setting('test.h3')::uuid, 5)),
  'tokens=0 before=5 after=5 released=5 overage=0 row_overage=none debt=0 replayed',
  'a settle of zero tokens replays as zero tokens (no usage row), even when the retry names 5');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b211-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
