-- handle_stripe_event, a dispute that is won: charge.dispute.created takes back the disputed
-- share of the purchase (floor(granted x dispute amount / amount paid)) as one `dispute`
-- transaction, debt allowed; charge.dispute.closed with status won gives it back as one
-- `dispute_reversal` (a new lot, which repays debt first). Each happens once.
begin;
select plan(20);

select tests.create_users('hse-won', '00000000-0000-4000-8709-000000000001', '00000000-0000-4000-8709-000000000002');
select tests.create_pack('hse_won_pack', 1000, 'Dispute won test pack');

select set_config('hse.purchase', tests.paid_checkout('evt_test_hse_won_purchase_1', 'cs_test_hse_won_1', 'hse_won_pack',
  '00000000-0000-4000-8709-000000000001', 'pi_test_hse_won_1')::text, true);
select set_config('hse.dispute', tests.charge_dispute('evt_test_hse_won_dispute_created', 'created', 'du_test_hse_won_1',
  'ch_test_hse_won_1', 'pi_test_hse_won_1', 500, 'needs_response')::text, true);
select set_config('hse.won', tests.charge_dispute('evt_test_hse_won_dispute_closed', 'closed', 'du_test_hse_won_1',
  'ch_test_hse_won_1', 'pi_test_hse_won_1', 500, 'won', 1771891200)::text, true);

select set_config('test.purchase', public.handle_stripe_event(current_setting('hse.purchase')::jsonb)::text, true);
select public.record_usage('chat', 200, 'hse-won-usage', '00000000-0000-4000-8709-000000000001');

select set_config('test.d', public.handle_stripe_event(current_setting('hse.dispute')::jsonb)::text, true);
select is(current_setting('test.d')::jsonb ->> 'status', 'processed', 'charge.dispute.created is processed');
select is((current_setting('test.d')::jsonb -> 'result') - 'transaction_id' - 'purchase_id',
  '{"user_id": "00000000-0000-4000-8709-000000000001", "transaction_type": "dispute", "token_amount": -1000,
    "balance_before": 800, "balance_after": -200, "replayed": false}'::jsonb,
  'a dispute of the whole amount takes back every token of the purchase, into debt');
select results_eq(
  $$select transaction_type, related_transaction_id, stripe_charge_id, stripe_payment_intent_id, stripe_event_id, metadata
      from public.token_transactions where id = (current_setting('test.d')::jsonb #>> '{result,transaction_id}')::uuid$$,
  $$values ('dispute'::text, (current_setting('test.purchase')::jsonb #>> '{result,transaction_id}')::uuid,
            'ch_test_hse_won_1'::text, 'pi_test_hse_won_1'::text, 'evt_test_hse_won_dispute_created'::text,
            '{"stripe_event_type": "charge.dispute.created", "amount_refunded_cents": 0, "dispute_cents": 500, "dispute_active": true}'::jsonb)$$,
  'the dispute row points at the purchase and names the charge');
select is(tests.balance_and_debt('00000000-0000-4000-8709-000000000001'), 'balance=-200 debt=200',
  'the 200 tokens already spent are debt');

-- A redelivery, and the same dispute in another event (e.g. funds withdrawn again): nothing more.
select is(public.handle_stripe_event(current_setting('hse.dispute')::jsonb) ->> 'status', 'duplicate', 'a redelivery is a duplicate');
select is((public.handle_stripe_event(jsonb_set(current_setting('hse.dispute')::jsonb, '{id}', '"evt_test_hse_won_dispute_created_2"'))
    -> 'result') - 'purchase_id',
  '{"tokens": 0, "note": "already reconciled"}'::jsonb, 'the same dispute in a new event takes nothing more');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(current_setting('hse.dispute')::jsonb,
    '{id}', '"evt_test_hse_won_dispute_updated"'), '{type}', '"charge.dispute.updated"')) ->> 'status',
  'ignored', 'charge.dispute.updated is not handled');

-- Won: the tokens come back.
select set_config('test.w', public.handle_stripe_event(current_setting('hse.won')::jsonb)::text, true);
select is(current_setting('test.w')::jsonb ->> 'status', 'processed', 'charge.dispute.closed (won) is processed');
select is((current_setting('test.w')::jsonb -> 'result') - 'transaction_id' - 'purchase_id',
  '{"user_id": "00000000-0000-4000-8709-000000000001", "transaction_type": "dispute_reversal", "token_amount": 1000,
    "balance_before": -200, "balance_after": 800, "replayed": false}'::jsonb,
  'a won dispute reinstates the tokens as a dispute_reversal');
select is(tests.balance_and_debt('00000000-0000-4000-8709-000000000001'), 'balance=800 debt=0',
  'the reinstatement repaid the debt first');
select results_eq(
  $$select l.original, l.remaining, l.expires_at from public.token_lots l
     where l.transaction_id = (current_setting('test.w')::jsonb #>> '{result,transaction_id}')::uuid$$,
  $$values (1000::bigint, 800::bigint, null::timestamptz)$$,
  'the reinstated tokens are a new permanent lot, less the debt repaid');
select is(public.handle_stripe_event(current_setting('hse.won')::jsonb) ->> 'status', 'duplicate', 'a redelivery of won is a duplicate');
select is((public.handle_stripe_event(jsonb_set(current_setting('hse.won')::jsonb, '{id}', '"evt_test_hse_won_dispute_closed_2"'))
    -> 'result') - 'purchase_id',
  '{"tokens": 0, "note": "already reconciled"}'::jsonb, 'won again in a new event gives nothing more');
select is(
  (select sum(token_amount)::bigint from public.token_transactions
    where related_transaction_id = (current_setting('test.purchase')::jsonb #>> '{result,transaction_id}')::uuid),
  0::bigint, 'dispute and reversal cancel out');

-- Bob: a dispute of part of the amount (200 of 500 cents: 400 tokens), then won.
select public.handle_stripe_event(tests.paid_checkout('evt_test_hse_won_purchase_2', 'cs_test_hse_won_2', 'hse_won_pack',
  '00000000-0000-4000-8709-000000000002', 'pi_test_hse_won_2'));
select set_config('hse.dispute_bob', tests.charge_dispute('evt_test_hse_won_bob_created', 'created', 'du_test_hse_won_2',
  'ch_test_hse_won_1', 'pi_test_hse_won_2', 200, 'needs_response')::text, true);
select is(public.handle_stripe_event(current_setting('hse.dispute_bob')::jsonb) #>> '{result,token_amount}', '-400',
  'a dispute of 200 of 500 cents takes back 400 tokens');
select is(public.get_token_balance('00000000-0000-4000-8709-000000000002') ->> 'balance', '600', 'bob keeps 600');
-- A won closing that names another dispute id does not end this one.
select is((public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.dispute_bob')::jsonb,
    '{id}', '"evt_test_hse_won_bob_other"'), '{type}', '"charge.dispute.closed"'),
    '{data,object,id}', '"du_test_hse_won_other"'), '{data,object,status}', '"won"')) -> 'result') - 'purchase_id',
  '{"tokens": 0, "note": "already reconciled"}'::jsonb, 'a closing for another dispute id changes nothing');
select is(public.handle_stripe_event(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.dispute_bob')::jsonb,
    '{id}', '"evt_test_hse_won_bob_won"'), '{type}', '"charge.dispute.closed"'), '{data,object,status}', '"won"'))
    #>> '{result,token_amount}',
  '400', 'won: the 400 tokens come back');
select is(public.get_token_balance('00000000-0000-4000-8709-000000000002') ->> 'balance', '1000', 'bob has the whole pack again');

select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
