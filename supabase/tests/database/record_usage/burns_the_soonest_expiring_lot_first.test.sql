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

-- three spends, each row a step: the lots after it (oldest first: the two aged lots, day -2)
select is(tests.lots_after_usage('00000000-0000-4000-8102-000000000001', step.tokens, step.key), step.lots, step.description)
  from (values
    (1, 15, 'ru-burn-u1', array['trial_grant: 0/10, day -2 -> 5', 'admin_grant: 10/10, day -2 -> never',
      'trial_grant: 5/10, day 0 -> 5', 'subscription_grant: 10/10, day 0 -> 10', 'admin_grant: 10/10, day 0 -> never'],
      'the soonest-expiring lots go first, the older of two with the same expiry before the newer'),
    (2, 20, 'ru-burn-u2', array['trial_grant: 0/10, day -2 -> 5', 'admin_grant: 5/10, day -2 -> never',
      'trial_grant: 0/10, day 0 -> 5', 'subscription_grant: 0/10, day 0 -> 10', 'admin_grant: 10/10, day 0 -> never'],
      'then the later-expiring lot, then the oldest permanent lot'),
    (3, 10, 'ru-burn-u3', array['trial_grant: 0/10, day -2 -> 5', 'admin_grant: 0/10, day -2 -> never',
      'trial_grant: 0/10, day 0 -> 5', 'subscription_grant: 0/10, day 0 -> 10', 'admin_grant: 5/10, day 0 -> never'],
      'the newer permanent lot is spent last')
  ) step(n, tokens, key, lots, description)
  order by step.n;

select is(tests.verified_balance('00000000-0000-4000-8102-000000000001'), 'balance=5 debt=0',
  'the balance is what the lots hold; the ledger is consistent');

select * from finish();
rollback;
