-- A subscription belongs to one user for life: changing customer_subscriptions.user_id is
-- refused (42501), whoever writes it, and nothing moves. (A move used to be allowed: the
-- next drips then expired one user's lots and charged the other's balance.) To give a
-- subscription to someone else, cancel it and record a new one for the new user
-- (docs/api.md).
begin;
select plan(6);

select tests.create_user(u.email, u.id::uuid) from (values
  ('00000000-0000-4000-d410-000000000001', 'cs-owner@example.test'),
  ('00000000-0000-4000-d410-000000000002', 'cs-other@example.test')
) u (id, email);insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-d410-0000000000a1', '00000000-0000-4000-d410-000000000001', 'default', 'active', now());
select is(public.run_drip('00000000-0000-4000-d410-0000000000a1', now()) ->> 'cycles_issued', '1', 'set-up: cycle 1 dripped');

select tests.authenticate_as_service_role();
select throws_ok(
  $$update public.customer_subscriptions set user_id = '00000000-0000-4000-d410-000000000002'
     where id = '00000000-0000-4000-d410-0000000000a1'$$,
  '42501', null, 'service_role cannot move a subscription to another user');
select tests.clear_authentication();
select throws_ok(
  $$update public.customer_subscriptions set user_id = '00000000-0000-4000-d410-000000000002'
     where id = '00000000-0000-4000-d410-0000000000a1'$$,
  '42501', null, 'nor can the table owner');
select is((select user_id from public.customer_subscriptions where id = '00000000-0000-4000-d410-0000000000a1'),
  '00000000-0000-4000-d410-000000000001'::uuid, 'the subscription keeps its user');

-- The next cycle drips for its user, and expires that user's lot.
select is(public.run_drip('00000000-0000-4000-d410-0000000000a1', now() + interval '56 days') ->> 'cycles_issued', '2',
  'cycles 2 and 3 drip');
select is_empty($$select * from public.verify_token_ledger() where user_id::text like '00000000-0000-4000-d410-%'$$,
  'the ledger is consistent for both users');

select * from finish();
rollback;
