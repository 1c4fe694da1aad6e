-- record_purchase is idempotent on the user's key (a checkout session buys once, for one user): the same purchase again returns the first
-- result with replayed:true and writes nothing. The purchase is its user, pack, amount,
-- currency and Stripe payment ids; the event id and metadata are not part of it (a checkout
-- session's `completed` and `async_payment_succeeded` events are one purchase). Any other
-- difference is PT409. Later changes to the pack do not change a replay.
begin;
select plan(19);

select tests.create_users('rp-replay', '00000000-0000-4000-8304-000000000001', '00000000-0000-4000-8304-000000000002');
insert into public.token_packs (id, stripe_price_id, tokens) values
  ('test-8304-pack', 'price_test_8304', 500),
  ('test-8304-other', 'price_test_8304_other', 500);

select is(tests.replay(tests.caller_claims('service'),
    $$select public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304', 999, 'usd', 'cs_8304', 'pi_8304', 'cus_8304', 'evt_8304_completed', '{"stripe_event_type":"checkout.session.completed"}')$$),
  'replayed: the first result',
  'the same purchase again is a replay: it returns the first result');
select is(tests.ledger_footprint('00000000-0000-4000-8304-000000000001'),
  'balance=500 lots=1 remaining=500 transactions=1', 'a replay writes nothing');

select tests.authenticate_as_service_role();
select is(public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
    999, 'usd', 'cs_8304', 'pi_8304', 'cus_8304', 'evt_8304_async', '{"stripe_event_type":"checkout.session.async_payment_succeeded"}') - 'replayed',
  current_setting('test.first')::jsonb - 'replayed',
  'another event about the same purchase (other event id and metadata) replays it');
select is(public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
    999, 'USD', 'cs_8304', 'pi_8304', 'cus_8304') -> 'replayed',
  'true'::jsonb, 'the currency is compared case-insensitively');
select tests.clear_authentication();
select results_eq(
  $$select stripe_event_id, metadata from public.token_transactions where idempotency_key = 'purchase:cs_8304'$$,
  $$values ('evt_8304_completed'::text, '{"stripe_event_type":"checkout.session.completed"}'::jsonb)$$,
  'the transaction keeps the first event''s id and metadata');

-- the same key for a different purchase
select tests.authenticate_as_service_role();
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-other', 'purchase:cs_8304',
  999, 'usd', 'cs_8304', 'pi_8304', 'cus_8304')$$,
  'PT409', 'This idempotency key was already used for a different request.', 'another pack is PT409');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
  1000, 'usd', 'cs_8304', 'pi_8304', 'cus_8304')$$, 'PT409', null, 'another amount is PT409');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
  999, 'eur', 'cs_8304', 'pi_8304', 'cus_8304')$$, 'PT409', null, 'another currency is PT409');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
  999, 'usd', 'cs_other', 'pi_8304', 'cus_8304')$$, 'PT409', null, 'another checkout session is PT409');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
  999, 'usd', 'cs_8304', 'pi_other', 'cus_8304')$$, 'PT409', null, 'another payment intent is PT409');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
  999, 'usd', 'cs_8304', 'pi_8304', null)$$, 'PT409', null, 'a missing customer is PT409');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000002', 'test-8304-pack', 'purchase:cs_8304',
  999, 'usd', 'cs_8304', 'pi_8304', 'cus_8304')$$, 'PT409', 'This checkout session was already bought for another user.',
  'another user under the same key is PT409: keys are per user, but the checkout session bought once');
select tests.clear_authentication();
select public.grant_tokens('00000000-0000-4000-8304-000000000002', 5, 'admin_grant', 'rp-replay-grant');
select tests.authenticate_as_service_role();
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000002', 'test-8304-pack', 'rp-replay-grant', 999, 'usd')$$,
  'PT409', null, 'a grant''s key is PT409 for a purchase');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8304-000000000001'),
  'balance=500 lots=1 remaining=500 transactions=1', 'a reused key writes nothing for alice');
select is(tests.ledger_footprint('00000000-0000-4000-8304-000000000002'),
  'balance=5 lots=1 remaining=5 transactions=1', 'nor for bob');

-- the pack changes after the purchase: a replay still returns what was bought
update public.token_packs set tokens = 999 where id = 'test-8304-pack';
select tests.authenticate_as_service_role();
select is(public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
    999, 'usd', 'cs_8304', 'pi_8304', 'cus_8304') - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'a replay after the pack''s tokens changed returns the first result');
select tests.clear_authentication();
update public.token_packs set active = false where id = 'test-8304-pack';
select tests.authenticate_as_service_role();
select is(public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304',
    999, 'usd', 'cs_8304', 'pi_8304', 'cus_8304', 'evt_8304_async') - 'replayed',
  current_setting('test.first')::jsonb - 'replayed', 'a replay after the pack was retired returns the first result');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8304-000000000001', 'test-8304-pack', 'purchase:cs_8304_new',
  999, 'usd', 'cs_8304_new')$$, '22023', null, 'while a new purchase of the retired pack is rejected');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8304-000000000001'),
  'balance=500 lots=1 remaining=500 transactions=1', 'the replays wrote nothing');

select * from finish();
rollback;
