-- The ledger tables are append-only: a trigger rejects every UPDATE and DELETE with 42501,
-- even from the tables' owner, legacy rows included. The only deletes that go through are the
-- foreign-key actions of the schema (a user's rows go with the user; a drip forgets a
-- deleted subscription).
begin;
select plan(24);

select tests.create_user('lt-append-alice@example.test', '00000000-0000-4000-8601-000000000001');
select public.grant_tokens('00000000-0000-4000-8601-000000000001', 100, 'admin_grant', 'lt-append-1');
select public.record_usage('chat', 10, 'lt-append-2', '00000000-0000-4000-8601-000000000001');
insert into public.customer_subscriptions (id, user_id) values ('00000000-0000-4000-8601-0000000000a1', '00000000-0000-4000-8601-000000000001');
-- a legacy drip row (legacy rows sit outside the ledger's checks but are just as immutable)
insert into public.token_drips (user_id, subscription_id, drip_amount, cycle_number, balance_before, balance_after, is_legacy)
values ('00000000-0000-4000-8601-000000000001', '00000000-0000-4000-8601-0000000000a1', 5, 1, 0, 5, true);
insert into public.token_transactions (user_id, transaction_type, token_amount, balance_before, balance_after, source, is_legacy)
values ('00000000-0000-4000-8601-000000000001', 'bonus', 5, 0, 5, 'legacy app', true);

select trigger_is('public', t, t || '_append_only', 'private', 'reject_ledger_change', format('%s has the append-only trigger', t))
  from unnest(array['token_transactions', 'token_usage', 'token_drips']) t;

-- the owner (this superuser session) is refused too
select throws_ok($$update public.token_transactions set token_amount = 1000000 where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', 'token_transactions is an append-only ledger: rows are never updated.', 'a transaction cannot be updated');
select throws_ok($$update public.token_transactions set metadata = metadata where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', null, 'not even by an update that changes nothing');
select throws_ok($$update public.token_transactions set source = 'x' where user_id = '00000000-0000-4000-8601-000000000001' and is_legacy$$,
  '42501', null, 'a legacy transaction cannot be updated');
select throws_ok($$delete from public.token_transactions where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', 'token_transactions is an append-only ledger: rows are never deleted.', 'a transaction cannot be deleted');
select throws_ok($$update public.token_usage set tokens = 1 where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', 'token_usage is an append-only ledger: rows are never updated.', 'a usage row cannot be updated');
select throws_ok($$delete from public.token_usage where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', null, 'a usage row cannot be deleted');
select throws_ok($$update public.token_drips set drip_amount = 500 where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', 'token_drips is an append-only ledger: rows are never updated.', 'a drip cannot be updated');
select throws_ok($$delete from public.token_drips where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', null, 'a drip cannot be deleted');

-- API roles: no privilege to try, and the trigger behind it
select tests.authenticate_as_service_role();
select throws_ok($$update public.token_transactions set token_amount = 1 where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', null, 'service_role cannot update a transaction');
select throws_ok($$delete from public.token_usage where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', null, 'service_role cannot delete usage');
select tests.clear_authentication();
select tests.authenticate_as('00000000-0000-4000-8601-000000000001');
select throws_ok($$update public.token_usage set tokens = 1 where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', null, 'a user cannot update its own usage');
select throws_ok($$delete from public.token_transactions where user_id = '00000000-0000-4000-8601-000000000001'$$,
  '42501', null, 'a user cannot delete its own transactions');
select tests.clear_authentication();

select is((select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-8601-000000000001'), 2,
  'both transactions are still there');
select is((select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-8601-000000000001'), 1,
  'the usage row is still there');
select results_eq(
  $$select token_amount from public.token_transactions where idempotency_key = 'lt-append-1'$$,
  $$values (100::bigint)$$,
  'and unchanged');

-- foreign-key actions still work
delete from public.customer_subscriptions where id = '00000000-0000-4000-8601-0000000000a1';
select results_eq(
  $$select subscription_id from public.token_drips where user_id = '00000000-0000-4000-8601-000000000001'$$,
  $$values (null::uuid)$$,
  'deleting a subscription sets its drips'' subscription_id to null (ON DELETE SET NULL)');
select lives_ok($$delete from auth.users where id = '00000000-0000-4000-8601-000000000001'$$,
  'deleting a user is not blocked by the ledger');
select is((select count(*)::int from public.token_transactions where user_id = '00000000-0000-4000-8601-000000000001'), 0,
  'the user''s transactions went with it');
select is((select count(*)::int from public.token_usage where user_id = '00000000-0000-4000-8601-000000000001'), 0,
  'the user''s usage went with it');
select is((select count(*)::int from public.token_drips where user_id = '00000000-0000-4000-8601-000000000001'), 0,
  'the user''s drips went with it');
select is(
  (select count(*)::int from public.token_lots where user_id = '00000000-0000-4000-8601-000000000001')
  + (select count(*)::int from public.token_balances where user_id = '00000000-0000-4000-8601-000000000001'),
  0, 'and so did its lots and balance');

select * from finish();
rollback;
