-- Sign-up trials are off unless an operator turns them on: ledger_settings.trial_tokens is 0 in
-- the migrations and the seed, and a sign-up (a row in auth.users) then gets nothing and
-- records no failure. Setting it back to 0 turns trials off again.
begin;
select plan(5);

select results_eq($$select trial_tokens, trial_lifetime from public.ledger_settings$$,
  $$values (0::bigint, interval '14 days')$$, 'trials are off by default (0 tokens; a lifetime of 14 days when on)');

select tests.create_user('st-off@example.test', '00000000-0000-4000-e101-000000000001');
select is(tests.ledger_footprint('00000000-0000-4000-e101-000000000001'), 'none', 'a sign-up gets nothing');
select is((select count(*)::int from public.signup_trial_failures where user_id = '00000000-0000-4000-e101-000000000001'), 0,
  'and nothing is recorded as failed');

select public.update_ledger_settings('{"trial_tokens": 500}');
select public.update_ledger_settings('{"trial_tokens": 0}');
select tests.create_user('st-off-again@example.test', '00000000-0000-4000-e101-000000000002');
select is(tests.ledger_footprint('00000000-0000-4000-e101-000000000002'), 'none', 'turned off again: nothing');
select is((select count(*)::int from public.token_transactions where idempotency_key like 'signup:00000000-0000-4000-e101-%'), 0,
  'no signup: transaction at all');

select * from finish();
rollback;
