-- get_token_balance_at replays the ledger: after a history with every kind of change (grants
-- that expire, a purchase, holds settled within and beyond what was free, usage across lots,
-- a refund that leaves debt, credits and drips that repay it, a capped rollover, a void, a
-- sweep of lapsed lots), the state after the last entry is exactly what the engine stored:
-- balance, debt, and every lot's remaining.
begin;
select plan(6);
set local timezone to 'UTC';

select tests.create_user('balance-at-replay@example.test', '00000000-0000-4000-8b04-000000000001');
insert into public.subscription_plans (id, drip_tokens, drip_interval, max_rollover_cycles, max_rollover_tokens)
values ('balance-at-capped', 1000, interval '28 days', 2, 500);
select tests.authenticate_as_service_role();

-- expiries make the burn order certain: trial (1 day), admin grant (30 days), purchase (never)
select public.grant_tokens('00000000-0000-4000-8b04-000000000001', 1000, 'admin_grant', 'balance-at-g1', null, now() + interval '30 days');
select public.grant_tokens('00000000-0000-4000-8b04-000000000001', 500, 'trial_grant', 'balance-at-g2', null, now() + interval '1 day');
select public.record_purchase('00000000-0000-4000-8b04-000000000001', 'pack_small', 'balance-at-p1', 1000, 'usd',
  p_stripe_payment_intent_id => 'pi_balance_at_replay');
select public.settle_hold((public.reserve_tokens('chat', 300, 'balance-at-r1', '00000000-0000-4000-8b04-000000000001') ->> 'hold_id')::uuid, 350);
select public.record_usage('chat', 600, 'balance-at-u1', '00000000-0000-4000-8b04-000000000001');
select public.record_usage('chat', 50000, 'balance-at-u2', '00000000-0000-4000-8b04-000000000001');
-- a full refund takes the purchase's remaining tokens, then others; the rest becomes debt
select public.handle_stripe_event(jsonb_build_object('id', 'evt_balance_at_refund', 'object', 'event', 'type', 'charge.refunded',
  'created', 1768608000, 'data', jsonb_build_object('object', jsonb_build_object('id', 'ch_balance_at', 'object', 'charge',
  'amount', 1000, 'amount_refunded', 1000, 'payment_intent', 'pi_balance_at_replay', 'metadata', '{}'::jsonb))));
select public.grant_tokens('00000000-0000-4000-8b04-000000000001', 10000, 'admin_grant', 'balance-at-g3');
-- drips: the default plan repays the rest of the debt; the capped plan cuts its rollover
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-8b04-0000000000a1', '00000000-0000-4000-8b04-000000000001', 'default', 'active', now()),
  ('00000000-0000-4000-8b04-0000000000a2', '00000000-0000-4000-8b04-000000000001', 'balance-at-capped', 'active', now() - interval '56 days');
select public.run_drip('00000000-0000-4000-8b04-0000000000a1', now());
select public.run_drip('00000000-0000-4000-8b04-0000000000a2', now());
select public.grant_tokens('00000000-0000-4000-8b04-000000000001', 5000, 'admin_grant', 'balance-at-g4', null, now() + interval '10 days');
select public.record_usage('chat', 2000, 'balance-at-u3', '00000000-0000-4000-8b04-000000000001');
select public.void_grant((select id from public.token_transactions where idempotency_key = 'balance-at-g4'), 'test', 'balance-at-v1');
select public.grant_tokens('00000000-0000-4000-8b04-000000000001', 700, 'admin_grant', 'balance-at-g5', null, now() + interval '2 days');
select public.expire_tokens(now() + interval '3 days');
-- a settle far beyond the hold and the free balance: overage, debt
select public.settle_hold((public.reserve_tokens('chat', 100, 'balance-at-r2', '00000000-0000-4000-8b04-000000000001') ->> 'hold_id')::uuid, 10000000);
select tests.clear_authentication();

select ok((select count(*) from public.token_transactions where user_id = '00000000-0000-4000-8b04-000000000001'
            and transaction_type in ('refund', 'expiration', 'void')) >= 3
          and (select debt from public.token_balances where user_id = '00000000-0000-4000-8b04-000000000001') > 0,
  'the history holds a refund, a void, an expiration and ends in debt');

create temporary table at_end as
  select public.get_token_balance_at(now() + interval '1 microsecond', '00000000-0000-4000-8b04-000000000001') as s;
select results_eq($$select (s ->> 'balance')::bigint, (s ->> 'debt')::bigint from at_end$$,
  $$select balance, debt from public.token_balances where user_id = '00000000-0000-4000-8b04-000000000001'$$,
  'balance and debt after the last entry are the stored ones');
select results_eq(
  $$select (l ->> 'lot_id')::uuid, (l ->> 'remaining')::bigint from at_end, jsonb_array_elements(s -> 'lots') l order by 1$$,
  $$select id, remaining from public.token_lots
     where user_id = '00000000-0000-4000-8b04-000000000001' and remaining > 0
       and (expires_at is null or expires_at > now() + interval '1 microsecond') order by 1$$,
  'the live lots and their remaining tokens are the stored ones');
select results_eq(
  $$select e.key::uuid, e.value::bigint from jsonb_each_text(private.replay_lots('00000000-0000-4000-8b04-000000000001',
      9223372036854775807) -> 'lots') e order by 1$$,
  $$select id, remaining from public.token_lots where user_id = '00000000-0000-4000-8b04-000000000001' order by 1$$,
  'replaying every entry gives every stored lot, spent and lapsed ones included');
select is((select problems from public.reconcile_token_ledger('00000000-0000-4000-8b04-000000000001')), '{}'::text[],
  'the deep reconciliation finds nothing');
select is((select s -> 'last_entry' ->> 'entry_id' from at_end),
  (select public.get_token_statement('00000000-0000-4000-8b04-000000000001', p_limit => 1) -> 'entries' -> 0 ->> 'entry_id'),
  'the state follows the statement''s newest entry');

select * from finish();
rollback;
