-- Each legacy subscription with legacy drips continues its 28-day schedule from its last
-- legacy cycle: the same anchor grid and the next number (legacy_last_cycle + 1). It drips
-- nothing until it is known to be active, that is until it has a drip plan and a dripping
-- status (a Stripe event once the operator has linked it with stripe_subscription_id, or the
-- operator). Then it continues with its next cycle, or, when that one is already under way,
-- with the cycle in progress; never with a cycle the legacy system issued.
--   kim  linked on upgrade day: nothing is due until her cycle 8 (H+8d)
--   noor linked after her cycle 5 came due (H-2d): cycle 5 is issued at once
begin;
select plan(12);
set local timezone to 'UTC';

insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens, drip_interval, max_rollover_cycles)
values ('default', 'price_sub_monthly', 'Subscription (28-day drips)', 375000, interval '28 days', 1);
create temporary table last_cycle as
select distinct on (d.subscription_id) d.subscription_id, d.cycle_number, d.billing_period_start as start_at
from public.token_drips d where d.is_legacy and d.subscription_id is not null
order by d.subscription_id, d.billing_period_start desc;
grant select on last_cycle to service_role;

select results_eq(
  $$select s.id, s.legacy_last_cycle, s.next_cycle_number, s.drip_anchor, s.next_drip_at, s.plan_id
      from public.customer_subscriptions s order by s.id$$,
  $$select c.subscription_id, c.cycle_number, c.cycle_number + 1, c.start_at - (c.cycle_number - 1) * interval '28 days',
           null::timestamptz, null::text
      from last_cycle c order by c.subscription_id$$,
  'after the upgrade: the anchor of the legacy grid, the next cycle number, no drips yet');
select is((select drip_anchor from public.customer_subscriptions where id = '5a000000-0000-4000-8000-00000000000a'),
  '2025-01-15 00:00+00'::timestamptz, 'alice''s anchor is her cycle 1''s start');

-- kim: linked on upgrade day, then Stripe's next event for the subscription.
select tests.authenticate_as_service_role();
update public.customer_subscriptions set stripe_subscription_id = 'sub_legacy_kim' where id = '5b100000-0000-4000-8000-000000000011';
create function pg_temp.subscription_event(p_event text, p_sub text, p_user text) returns jsonb language sql as $$
  select public.handle_stripe_event(jsonb_build_object(
    'id', p_event, 'object', 'event', 'type', 'customer.subscription.updated',
    'created', floor(extract(epoch from now()))::bigint, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', p_sub, 'object', 'subscription', 'customer', 'cus_' || p_sub, 'status', 'active',
      'start_date', 1700000000, 'metadata', jsonb_build_object('user_id', p_user),
      'items', jsonb_build_object('data', jsonb_build_array(jsonb_build_object('price', jsonb_build_object('id', 'price_sub_monthly'))))))))
$$;
create function pg_temp.invoice_paid(p_event text, p_sub text) returns jsonb language sql as $$
  select public.handle_stripe_event(jsonb_build_object(
    'id', p_event, 'object', 'event', 'type', 'invoice.paid',
    'created', floor(extract(epoch from now()))::bigint + 1, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', 'in_' || p_event, 'object', 'invoice', 'amount_paid', 1999, 'billing_reason', 'subscription_cycle',
      'customer', 'cus_' || p_sub, 'subscription', p_sub, 'status', 'paid'))))
$$;
select is(pg_temp.subscription_event('evt_legacy_kim_updated', 'sub_legacy_kim', 'b1000000-0000-4000-8000-000000000011') #>> '{result,subscription_id}',
  '5b100000-0000-4000-8000-000000000011', 'the Stripe event updates the legacy subscription it was linked to');
select tests.clear_authentication();
select results_eq(
  $$select s.next_cycle_number, s.next_drip_at, s.drip_anchor from public.customer_subscriptions s where s.id = '5b100000-0000-4000-8000-000000000011'$$,
  $$select 8, c.start_at + interval '28 days', c.start_at - 6 * interval '28 days' from last_cycle c
     where c.subscription_id = '5b100000-0000-4000-8000-000000000011'$$,
  'kim: known active; her cycle 8 is due when her cycle 7 ends; the anchor is still the legacy one');
select tests.authenticate_as_service_role();
select is(pg_temp.invoice_paid('evt_legacy_kim_invoice', 'sub_legacy_kim') #>> '{result,drip,cycles_issued}', '0',
  'kim: invoice.paid issues nothing before cycle 8');
select throws_ok(
  $$update public.customer_subscriptions set next_cycle_number = 7 where id = '5b100000-0000-4000-8000-000000000011'$$,
  '23514', null, 'kim: a legacy cycle can never be scheduled again');
select is(public.run_drip('5b100000-0000-4000-8000-000000000011',
                          (select start_at + interval '28 days' from last_cycle where subscription_id = '5b100000-0000-4000-8000-000000000011'))
            - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 175000, "balance_after": 900000}'::jsonb,
  'kim: cycle 8 expires what cycle 6 left and carries cycle 7''s drip');
select tests.clear_authentication();
select results_eq(
  $$select d.cycle_number, d.billing_period_start, d.rollover_from_previous, d.rollover_cycles_count, d.expired_tokens,
           d.balance_before, d.balance_after
      from public.token_drips d where d.subscription_id = '5b100000-0000-4000-8000-000000000011' and not d.is_legacy$$,
  $$select 8, c.start_at + interval '28 days', 375000::bigint, 1, 175000::bigint, 700000::bigint, 900000::bigint
      from last_cycle c where c.subscription_id = '5b100000-0000-4000-8000-000000000011'$$,
  'kim: the cycle 8 row');

-- noor: linked (plan and status set by hand, as for a subscription the operator knows is
-- active) after her cycle 5 began.
select tests.authenticate_as_service_role();
update public.customer_subscriptions set stripe_subscription_id = 'sub_legacy_noor', plan_id = 'default', status = 'active'
 where id = '5b300000-0000-4000-8000-000000000013';
select tests.clear_authentication();
select results_eq(
  $$select s.next_cycle_number, s.next_drip_at from public.customer_subscriptions s where s.id = '5b300000-0000-4000-8000-000000000013'$$,
  $$select 5, c.start_at + interval '28 days' from last_cycle c where c.subscription_id = '5b300000-0000-4000-8000-000000000013'$$,
  'noor: her cycle 5, under way since two days, is due');
select tests.authenticate_as_service_role();
select is((pg_temp.invoice_paid('evt_legacy_noor_invoice', 'sub_legacy_noor') #> '{result,drip}') - 'subscription_id',
  '{"cycles_issued": 1, "tokens_dripped": 375000, "tokens_expired": 0, "balance_after": 750000}'::jsonb,
  'noor: invoice.paid issues cycle 5 once (the 50,000 her cycle 4 carried lapsed at the upgrade, before cycle 5 was known)');
select tests.clear_authentication();
select results_eq(
  $$select d.cycle_number, d.billing_period_start, d.rollover_from_previous from public.token_drips d
     where d.subscription_id = '5b300000-0000-4000-8000-000000000013' and not d.is_legacy$$,
  $$select 5, c.start_at + interval '28 days', 375000::bigint from last_cycle c where c.subscription_id = '5b300000-0000-4000-8000-000000000013'$$,
  'noor: the cycle 5 row, dated from its start');
select is_empty('select * from public.verify_token_ledger()', 'the ledger is consistent');

select * from finish();
rollback;
