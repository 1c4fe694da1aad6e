-- handle_stripe_event, events out of order: charge.dispute.closed (won) delivered before
-- charge.dispute.created. The closing is remembered, so the late `created` takes nothing back.
-- Also: a checkout session whose client_reference_id is not a user id still finds the user in
-- metadata.user_id.
begin;
select plan(5);

select tests.create_user('hse-won-first@example.test', '00000000-0000-4000-8720-000000000001');
select tests.create_pack('hse_won_first_pack', 1000, 'Won-first test pack');

select set_config('hse.purchase', tests.paid_checkout('evt_test_hse_won_first_purchase', 'cs_test_hse_won_first', 'hse_won_first_pack',
  null, 'pi_test_hse_won_first', p_object => '{"client_reference_id": "cart-4711",
  "metadata": {"pack_id": "hse_won_first_pack",
  "user_id": "00000000-0000-4000-8720-000000000001"}}'::jsonb)::text, true);
select set_config('hse.created', tests.charge_dispute('evt_test_hse_won_first_created', 'created', 'du_test_hse_won_first',
  'ch_test_hse_won_first', 'pi_test_hse_won_first', 500, 'needs_response')::text, true);
select set_config('hse.won', jsonb_set(jsonb_set(jsonb_set(jsonb_set(current_setting('hse.created')::jsonb,
  '{id}', '"evt_test_hse_won_first_closed"'), '{type}', '"charge.dispute.closed"'),
  '{created}', '1771891200'), '{data,object,status}', '"won"')::text, true);

select is(public.handle_stripe_event(current_setting('hse.purchase')::jsonb) #>> '{result,balance_after}', '1000',
  'the purchase finds the user in metadata.user_id when client_reference_id is not a user id');
select is(public.handle_stripe_event(current_setting('hse.won')::jsonb) ->> 'status', 'processed',
  'the won closing, delivered first, is processed');
select is(public.handle_stripe_event(current_setting('hse.created')::jsonb) #>> '{result,tokens}', '0',
  'the late dispute.created takes nothing back');
select is((public.get_token_balance('00000000-0000-4000-8720-000000000001') ->> 'balance')::bigint, 1000::bigint,
  'the buyer keeps every token');
select is_empty($$select 1 from public.token_transactions
                  where user_id = '00000000-0000-4000-8720-000000000001' and transaction_type in ('dispute', 'dispute_reversal')$$,
  'no dispute transaction was written');

select * from finish();
rollback;
