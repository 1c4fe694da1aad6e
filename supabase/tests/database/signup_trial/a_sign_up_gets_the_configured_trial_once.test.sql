-- With ledger_settings.trial_tokens > 0, every sign-up (a row inserted into auth.users) is
-- granted that many tokens as one trial_grant with the key signup:<user id>, source signup,
-- expiring trial_lifetime after the grant (never, when the lifetime is null). The trial comes
-- once: a replayed insert of the same user creates nothing more, and retry_signup_trial
-- replays the first grant.
begin;
select plan(9);

select public.update_ledger_settings('{"trial_tokens": 5000, "trial_lifetime": "7 days"}');
select tests.create_user('st-on@example.test', '00000000-0000-4000-e102-000000000001');

select results_eq(
  $$select transaction_type, token_amount, idempotency_key, source, expires_at, balance_before, balance_after
      from public.token_transactions where user_id = '00000000-0000-4000-e102-000000000001'$$,
  $$values ('trial_grant'::text, 5000::bigint, 'signup:00000000-0000-4000-e102-000000000001'::text, 'signup'::text,
            now() + interval '7 days', 0::bigint, 5000::bigint)$$,
  'one trial_grant of 5,000 with the key signup:<user id>, expiring 7 days after the sign-up');
select is(tests.ledger_footprint('00000000-0000-4000-e102-000000000001'), 'balance=5000 lots=1 remaining=5000 transactions=1',
  'the balance and one lot hold it');
select is((public.get_token_balance('00000000-0000-4000-e102-000000000001') ->> 'next_expiry')::timestamptz,
  now() + interval '7 days', 'the user sees when the trial runs out');

-- The same sign-up inserted again (a retried request) creates no second user and no second trial.
insert into auth.users (id, email) values ('00000000-0000-4000-e102-000000000001', 'st-on@example.test')
  on conflict (id) do nothing;
select throws_ok($$insert into auth.users (id, email) values ('00000000-0000-4000-e102-000000000001', 'st-on-2@example.test')$$,
  '23505', null, 'a plain second insert of the user fails on its own key, before any trigger');
select is(tests.ledger_footprint('00000000-0000-4000-e102-000000000001'), 'balance=5000 lots=1 remaining=5000 transactions=1',
  'still one trial');

-- An operator's retry finds it, even with other settings in force now.
select public.update_ledger_settings('{"trial_tokens": 7000}');
select is(public.retry_signup_trial('00000000-0000-4000-e102-000000000001') - 'transaction_id',
  jsonb_build_object('user_id', '00000000-0000-4000-e102-000000000001', 'transaction_type', 'trial_grant',
    'token_amount', 5000, 'balance_before', 0, 'balance_after', 5000, 'replayed', true),
  'retry_signup_trial replays the first grant');
select is(tests.ledger_footprint('00000000-0000-4000-e102-000000000001'), 'balance=5000 lots=1 remaining=5000 transactions=1',
  'and writes nothing');

-- No lifetime: the trial never expires; the new amount applies to new sign-ups.
select public.update_ledger_settings('{"trial_lifetime": null}');
select tests.create_user('st-forever@example.test', '00000000-0000-4000-e102-000000000002');
select results_eq(
  $$select token_amount, expires_at from public.token_transactions where user_id = '00000000-0000-4000-e102-000000000002'$$,
  $$values (7000::bigint, null::timestamptz)$$, 'a null lifetime grants tokens that never expire');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-e102-000000000002')$$, 'the ledger is consistent');

select * from finish();
rollback;
