-- canceled and incomplete_expired are final, as in Stripe: a write that would bring such a
-- subscription back to another status is refused (23514), whoever writes it, so it never
-- drips again (a service write of status = 'active' used to restart it). A Stripe event that
-- says otherwise leaves it as it is. A customer who subscribes again gets a new subscription.
begin;
select plan(8);

select tests.create_user('cs-canceled@example.test', '00000000-0000-4000-d411-000000000001');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor, stripe_subscription_id) values
  ('00000000-0000-4000-d411-0000000000a1', '00000000-0000-4000-d411-000000000001', 'default', 'active', now(), null),
  ('00000000-0000-4000-d411-0000000000a2', '00000000-0000-4000-d411-000000000001', 'default', 'incomplete', now(), 'sub_test_cs_final_2');
select is(public.run_drip('00000000-0000-4000-d411-0000000000a1', now()) ->> 'cycles_issued', '1', 'set-up: cycle 1 dripped');
update public.customer_subscriptions set status = 'canceled' where id = '00000000-0000-4000-d411-0000000000a1';
update public.customer_subscriptions set status = 'incomplete_expired' where id = '00000000-0000-4000-d411-0000000000a2';

select tests.authenticate_as_service_role();
select is(tests.error_sqlstate(pg_catalog.format('update public.customer_subscriptions set status = %L where id = %L',
    c.status, c.id)), '23514', c.description)
  from (values
    ('active', '00000000-0000-4000-d411-0000000000a1', 'service_role cannot bring a canceled subscription back'),
    ('past_due', '00000000-0000-4000-d411-0000000000a1', 'to no other status either'),
    ('active', '00000000-0000-4000-d411-0000000000a2', 'nor an incomplete_expired one')
  ) c(status, id, description);
select tests.clear_authentication();
select throws_ok(
  $$update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d411-0000000000a1'$$,
  '23514', null, 'nor can the table owner');

-- Stripe says active for the expired one (an event with a later `created`): it stays as it is.
select is(public.handle_stripe_event(jsonb_build_object(
    'id', 'evt_test_cs_final_revive', 'object', 'event', 'type', 'customer.subscription.updated',
    'created', floor(extract(epoch from now()))::bigint + 60, 'livemode', false,
    'data', jsonb_build_object('object', jsonb_build_object(
      'id', 'sub_test_cs_final_2', 'object', 'subscription', 'customer', 'cus_test_cs_final',
      'status', 'active', 'start_date', floor(extract(epoch from now()))::bigint,
      'metadata', jsonb_build_object('user_id', '00000000-0000-4000-d411-000000000001'),
      'items', jsonb_build_object('data', jsonb_build_array(jsonb_build_object('price', jsonb_build_object('id', 'price_sub_monthly'))))))))
  #>> '{result,status}', 'incomplete_expired', 'a Stripe event does not revive it either');

select results_eq(
  $$select id, status, next_drip_at from public.customer_subscriptions where user_id = '00000000-0000-4000-d411-000000000001' order by id$$,
  $$values ('00000000-0000-4000-d411-0000000000a1'::uuid, 'canceled'::text, null::timestamptz),
           ('00000000-0000-4000-d411-0000000000a2', 'incomplete_expired', null)$$,
  'both stay final, with no schedule');
select public.run_drip(id, now() + interval '56 days') from public.customer_subscriptions
 where user_id = '00000000-0000-4000-d411-000000000001';
select results_eq(
  $$select subscription_id, cycle_number from public.token_drips where user_id = '00000000-0000-4000-d411-000000000001'$$,
  $$values ('00000000-0000-4000-d411-0000000000a1'::uuid, 1)$$, 'nothing drips for them later');

select * from finish();
rollback;
