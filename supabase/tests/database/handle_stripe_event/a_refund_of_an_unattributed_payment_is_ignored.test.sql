-- A refund or dispute of a payment that is still unattributed takes nothing back (nothing was
-- granted) and is recorded as ignored, with the reason, even when the charge's metadata says it
-- is a pack (which otherwise means "the purchase has not arrived yet: retry", 55000, HTTP 500
-- for days). The kept payment remembers it, so it can no longer be attributed.
begin;
select plan(6);

select tests.create_pack('hse_unref_pack', 1000, 'Unattributed refund test pack');
select public.handle_stripe_event(tests.paid_checkout('evt_test_hse_unref_1', 'cs_test_hse_unref_1', 'hse_unref_pack',
  null, 'pi_test_hse_unref_1'));
select set_config('hse.refund', tests.charge_refunded('evt_test_hse_unref_refund', 'ch_test_hse_unref_1', 'pi_test_hse_unref_1', 500,
  500, p_created => 1768521600, p_object => '{"metadata": {"pack_id": "hse_unref_pack"}}'::jsonb)::text, true);
select set_config('hse.dispute', tests.charge_dispute('evt_test_hse_unref_dispute', 'created', 'du_test_hse_unref_1', 'ch_test_hse_unref_1',
  'pi_test_hse_unref_1', 500, 'needs_response', 1768521700)::text, true);

select set_config('test.refund', public.handle_stripe_event(current_setting('hse.refund')::jsonb)::text, true);
select is(current_setting('test.refund')::jsonb ->> 'status', 'ignored', 'the refund of an unattributed payment is ignored');
select matches(current_setting('test.refund')::jsonb #>> '{result,ignored}', 'unattributed', 'the reason says so');
select is(public.handle_stripe_event(current_setting('hse.dispute')::jsonb) ->> 'status', 'ignored',
  'so is a dispute of it');
select is((select refund_or_dispute_event_id from public.unattributed_payments where stripe_checkout_session_id = 'cs_test_hse_unref_1'),
  'evt_test_hse_unref_refund', 'the kept payment remembers the first refund');
select is_empty($$select 1 from public.token_transactions where stripe_payment_intent_id = 'pi_test_hse_unref_1'$$,
  'nothing was granted or taken back');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
