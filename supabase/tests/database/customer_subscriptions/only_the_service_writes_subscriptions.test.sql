-- Nobody but the service writes subscriptions: anon, a signed-in user (for itself too) and an
-- admin cannot insert, update or delete one (42501), so nobody can give themselves a drip
-- plan or move their schedule. service_role can, and the schedule follows its writes.
begin;
select plan(18);
set local timezone to 'UTC';

insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-4000-d403-000000000001', 'cs-writes-alice@example.test', '{}'),
  ('00000000-0000-4000-d403-000000000002', 'cs-writes-admin@example.test', '{"role": "admin"}'),
  ('00000000-0000-4000-d403-000000000003', 'cs-writes-carol@example.test', '{}');
select tests.create_subscription('00000000-0000-4000-d403-0000000000a1', '00000000-0000-4000-d403-000000000001', 'default', 'past_due');

select tests.authenticate_as_anon();
select throws_ok($$insert into public.customer_subscriptions (user_id, plan_id) values ('00000000-0000-4000-d403-000000000001', 'default')$$,
  '42501', null, 'anon cannot insert');
select throws_ok($$update public.customer_subscriptions set status = 'active'$$, '42501', null, 'anon cannot update');
select throws_ok($$delete from public.customer_subscriptions$$, '42501', null, 'anon cannot delete');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-d403-000000000001');
select throws_ok(
  $$insert into public.customer_subscriptions (user_id, plan_id, status) values ('00000000-0000-4000-d403-000000000001', 'default', 'active')$$,
  '42501', null, 'a user cannot subscribe itself');
select throws_ok($$update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d403-0000000000a1'$$,
  '42501', null, 'a user cannot reactivate its own subscription');
select throws_ok($$update public.customer_subscriptions set drip_anchor = now() - interval '1 year' where id = '00000000-0000-4000-d403-0000000000a1'$$,
  '42501', null, 'a user cannot move its own drip anchor');
select throws_ok($$delete from public.customer_subscriptions where id = '00000000-0000-4000-d403-0000000000a1'$$,
  '42501', null, 'a user cannot delete its own subscription');
select tests.clear_authentication();

select tests.authenticate_as_admin('00000000-0000-4000-d403-000000000002');
select throws_ok(
  $$insert into public.customer_subscriptions (user_id, plan_id) values ('00000000-0000-4000-d403-000000000002', 'default')$$,
  '42501', null, 'an admin cannot insert');
select throws_ok($$update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d403-0000000000a1'$$,
  '42501', null, 'an admin cannot update');
select tests.clear_authentication();

select results_eq(
  $$select status, drip_anchor, next_cycle_number, next_drip_at from public.customer_subscriptions
     where user_id in ('00000000-0000-4000-d403-000000000001', '00000000-0000-4000-d403-000000000002')$$,
  $$values ('past_due'::text, now(), 1, now())$$,
  'the refused writes changed nothing');

-- The service writes: insert (the subscriber gets a balance row), update, delete.
select tests.authenticate_as_service_role();
select lives_ok(
  $$insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
    values ('00000000-0000-4000-d403-0000000000c1', '00000000-0000-4000-d403-000000000003', 'default', 'active', now())$$,
  'service_role inserts a subscription');
select lives_ok($$update public.customer_subscriptions set status = 'active' where id = '00000000-0000-4000-d403-0000000000a1'$$,
  'service_role updates one');
select is(public.run_drip('00000000-0000-4000-d403-0000000000c1', now()) ->> 'cycles_issued', '1',
  'the subscription the service inserted drips');
select lives_ok($$update public.customer_subscriptions set plan_id = 'annual' where id = '00000000-0000-4000-d403-0000000000c1'$$,
  'service_role changes its plan');
select tests.clear_authentication();
select results_eq(
  $$select id, status, plan_id, next_cycle_number, next_drip_at - now() from public.customer_subscriptions
     where id in ('00000000-0000-4000-d403-0000000000a1', '00000000-0000-4000-d403-0000000000c1') order by id$$,
  $$values ('00000000-0000-4000-d403-0000000000a1'::uuid, 'active'::text, 'default'::text, 1, interval '0'),
           ('00000000-0000-4000-d403-0000000000c1', 'active', 'annual', 2, null::interval)$$,
  'the schedule follows the service''s writes (the plan without drips has none)');
select tests.authenticate_as_service_role();
select lives_ok($$delete from public.customer_subscriptions where id = '00000000-0000-4000-d403-0000000000a1'$$,
  'service_role deletes a subscription');
select tests.clear_authentication();
select is_empty($$select 1 from public.customer_subscriptions where id = '00000000-0000-4000-d403-0000000000a1'$$, 'it is gone');

select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-d403-%'$$, 'the ledger is consistent');

select * from finish();
rollback;
