-- record_usage burns lots in order: soonest expires_at first, permanent lots last, the
-- oldest lot first when two expire at the same time (or are both permanent).
begin;
select plan(4);

select tests.create_user('ru-burn-alice@example.test', '00000000-0000-4000-8102-000000000001');

-- Five lots of 10 (every grant of one transaction has the same created_at, so the test ages
-- two lots by hand; token_lots is state, not ledger).
select public.grant_tokens('00000000-0000-4000-8102-000000000001', 10, 'admin_grant', 'ru-burn-perm-old');
select public.grant_tokens('00000000-0000-4000-8102-000000000001', 10, 'admin_grant', 'ru-burn-perm-new');
select public.grant_tokens('00000000-0000-4000-8102-000000000001', 10, 'subscription_grant', 'ru-burn-10d', null, now() + interval '10 days');
select public.grant_tokens('00000000-0000-4000-8102-000000000001', 10, 'trial_grant', 'ru-burn-5d-new', null, now() + interval '5 days');
select public.grant_tokens('00000000-0000-4000-8102-000000000001', 10, 'trial_grant', 'ru-burn-5d-old', null, now() + interval '5 days');
update public.token_lots l set created_at = now() - interval '2 days'
  from public.token_transactions t
 where t.id = l.transaction_id and t.idempotency_key in ('ru-burn-perm-old', 'ru-burn-5d-old');

create view pg_temp.lots as
  select t.idempotency_key as lot, l.remaining
    from public.token_lots l join public.token_transactions t on t.id = l.transaction_id
   where l.user_id = '00000000-0000-4000-8102-000000000001';

select tests.authenticate_as('00000000-0000-4000-8102-000000000001');
select public.record_usage('chat', 15, 'ru-burn-u1');
select tests.clear_authentication();
select results_eq(
  'select lot, remaining from pg_temp.lots order by lot',
  $$values ('ru-burn-10d', 10::bigint), ('ru-burn-5d-new', 5::bigint), ('ru-burn-5d-old', 0::bigint),
           ('ru-burn-perm-new', 10::bigint), ('ru-burn-perm-old', 10::bigint)$$,
  'the soonest-expiring lots go first, the older of two with the same expiry before the newer');

select tests.authenticate_as('00000000-0000-4000-8102-000000000001');
select public.record_usage('chat', 20, 'ru-burn-u2');
select tests.clear_authentication();
select results_eq(
  'select lot, remaining from pg_temp.lots order by lot',
  $$values ('ru-burn-10d', 0::bigint), ('ru-burn-5d-new', 0::bigint), ('ru-burn-5d-old', 0::bigint),
           ('ru-burn-perm-new', 10::bigint), ('ru-burn-perm-old', 5::bigint)$$,
  'then the later-expiring lot, then the oldest permanent lot');

select tests.authenticate_as('00000000-0000-4000-8102-000000000001');
select public.record_usage('chat', 10, 'ru-burn-u3');
select tests.clear_authentication();
select results_eq(
  'select lot, remaining from pg_temp.lots order by lot',
  $$values ('ru-burn-10d', 0::bigint), ('ru-burn-5d-new', 0::bigint), ('ru-burn-5d-old', 0::bigint),
           ('ru-burn-perm-new', 5::bigint), ('ru-burn-perm-old', 0::bigint)$$,
  'the newer permanent lot is spent last');

select is(tests.verified_balance('00000000-0000-4000-8102-000000000001'), 'balance=5 debt=0',
  'the balance is what the lots hold; the ledger is consistent');

select * from finish();
rollback;
