-- handle_stripe_event, a dispute that is lost: charge.dispute.created took the tokens back;
-- charge.dispute.closed with status lost is recorded as ignored and they stay taken back.
begin;
select plan(9);

select tests.create_user('hse-lost-alice@example.test', '00000000-0000-4000-8710-000000000001');
select tests.create_pack('hse_lost_pack', 1000, 'Dispute lost test pack');

select set_config('hse.purchase', tests.paid_checkout('evt_test_hse_lost_purchase_1', 'cs_test_hse_lost_1', 'hse_lost_pack',
  '00000000-0000-4000-8710-000000000001', 'pi_test_hse_lost_1')::text, true);
-- charge_dispute_created.json, trimmed.
select set_config('hse.dispute', tests.charge_dispute('evt_test_hse_lost_dispute_created', 'created', 'du_test_hse_lost_1', 'ch_test_hse_lost_1',
  'pi_test_hse_lost_1', 500, 'needs_response')::text, true);
-- charge_dispute_closed_lost.json, trimmed.
select set_config('hse.lost', jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.dispute')::jsonb,
  '{id}', '"evt_test_hse_lost_dispute_closed"'),
  '{type}', '"charge.dispute.closed"'),
  '{created}', '1771891200'),
  '{data,object,status}', '"lost"')::text, true);

select public.handle_stripe_event(current_setting('hse.purchase')::jsonb);
select is(public.handle_stripe_event(current_setting('hse.dispute')::jsonb) #>> '{result,token_amount}', '-1000',
  'the dispute takes back the purchase');
select is(public.get_token_balance('00000000-0000-4000-8710-000000000001') ->> 'balance', '0', 'nothing left');

select set_config('test.lost', public.handle_stripe_event(current_setting('hse.lost')::jsonb)::text, true);
select is(current_setting('test.lost')::jsonb ->> 'status', 'ignored', 'charge.dispute.closed (lost) is recorded as ignored');
select is(current_setting('test.lost')::jsonb #>> '{result,ignored}', 'dispute lost: the tokens stay clawed back', 'with the reason');
select results_eq($$select status, error from public.stripe_events where id = 'evt_test_hse_lost_dispute_closed'$$,
  $$values ('ignored'::text, 'dispute lost: the tokens stay clawed back'::text)$$,
  'the event row says so');
select is(public.get_token_balance('00000000-0000-4000-8710-000000000001') ->> 'balance', '0', 'the tokens stay taken back');
select is(
  (select array_agg(transaction_type || ' ' || token_amount order by created_at, token_amount desc)
     from public.token_transactions where user_id = '00000000-0000-4000-8710-000000000001'),
  array['purchase 1000', 'dispute -1000'], 'a purchase and a dispute, no reversal');
select is(public.handle_stripe_event(current_setting('hse.lost')::jsonb) ->> 'status', 'duplicate', 'a redelivery is a duplicate');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
