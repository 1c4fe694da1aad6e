-- A signed-in user reads its own subscriptions only; a token without a user id sees none;
-- anon cannot read at all; service_role reads every row.
begin;
select plan(8);

select tests.create_users('cs-rls', '00000000-0000-4000-d402-000000000001', '00000000-0000-4000-d402-000000000002');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-d402-0000000000a1', '00000000-0000-4000-d402-000000000001', 'default', 'active', now()),
  ('00000000-0000-4000-d402-0000000000a2', '00000000-0000-4000-d402-000000000001', 'annual', 'canceled', now()),
  ('00000000-0000-4000-d402-0000000000b1', '00000000-0000-4000-d402-000000000002', 'default', 'past_due', now());

select tests.authenticate_as('00000000-0000-4000-d402-000000000001');
select results_eq('select id, plan_id, status from public.customer_subscriptions order by id',
  $$values ('00000000-0000-4000-d402-0000000000a1'::uuid, 'default'::text, 'active'::text),
           ('00000000-0000-4000-d402-0000000000a2', 'annual', 'canceled')$$,
  'alice sees her two subscriptions');
select is_empty($$select 1 from public.customer_subscriptions where user_id = '00000000-0000-4000-d402-000000000002'$$,
  'alice cannot see bob''s even by asking');
select results_eq($$select next_cycle_number, next_drip_at = now() from public.customer_subscriptions where id = '00000000-0000-4000-d402-0000000000a1'$$,
  $$values (1, true)$$, 'she can read her drip schedule');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-d402-000000000002');
select results_eq('select id from public.customer_subscriptions', array['00000000-0000-4000-d402-0000000000b1'::uuid],
  'bob sees his only');
select tests.clear_authentication();

select is(tests.outcome_as(tests.caller_claims('no sub'), 'select count(*)::text from public.customer_subscriptions'), '0',
  'authenticated without sub sees nothing');

select tests.authenticate_as_anon();
select throws_ok('select count(*) from public.customer_subscriptions', '42501', null, 'anon cannot read subscriptions');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select results_eq($$select count(*)::int from public.customer_subscriptions where id::text like '00000000-0000-4000-d402-%'$$,
  array[3], 'service_role sees every subscription');
select results_eq($$select count(*)::int from public.customer_subscriptions where user_id = '00000000-0000-4000-d402-000000000002'$$,
  array[1], 'including bob''s');
select tests.clear_authentication();

select * from finish();
rollback;
