-- A subscription set aside in drip_failures that the service then deletes takes its failure
-- row with it (drip_failures' foreign key on (user_id, subscription_id) cascades), so operators
-- never chase a subscription that is gone.
begin;
select plan(3);

select tests.freeze_other_subscriptions();
select tests.create_user('rdd-forget@example.test', '00000000-0000-4000-d2a5-000000000001');
-- Broken: its cycle 1 already has a drip row.
select tests.break_drip(tests.create_subscription('00000000-0000-4000-d2a5-0000000000a1', '00000000-0000-4000-d2a5-000000000001'));

select tests.authenticate_as_service_role();
select is(public.run_due_drips(now(), 1000) ->> 'subscriptions_failed', '1', 'the subscription fails and is set aside');
select lives_ok($$delete from public.customer_subscriptions where id = '00000000-0000-4000-d2a5-0000000000a1'$$,
  'the service deletes it');
select tests.clear_authentication();
select is_empty($$select 1 from public.drip_failures where user_id = '00000000-0000-4000-d2a5-000000000001'$$,
  'its drip failure is gone with it');

select * from finish();
rollback;
