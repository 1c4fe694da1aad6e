-- A sign-up never fails because of its trial. On any error in the grant the user is still
-- created, nothing of the trial is written, the failure is kept in
-- public.signup_trial_failures (with the error and the settings) for an operator, and
-- retry_signup_trial grants the trial later and marks the failure resolved.
begin;
select plan(9);

select public.update_ledger_settings('{"trial_tokens": 5000}');
set local client_min_messages = error; -- the trigger's WARNING is expected here
-- Any error in the grant will do. Here the inserting session carries a JWT claim `sub` that is
-- no uuid, which the grant reads (auth.uid(), for its actor): 22P02.
select set_config('request.jwt.claims', '{"sub": "not-a-uuid"}', true);

select lives_ok($$select tests.create_user('st-fail@example.test', '00000000-0000-4000-e103-000000000001')$$,
  'the sign-up succeeds although the trial fails');
select is((select email::text from auth.users where id = '00000000-0000-4000-e103-000000000001'), 'st-fail@example.test',
  'the user exists');
select is(tests.ledger_footprint('00000000-0000-4000-e103-000000000001'), 'none', 'nothing of the trial was written');
select results_eq(
  $$select sqlstate, message, trial_tokens, trial_lifetime, resolved_at, transaction_id
      from public.signup_trial_failures where user_id = '00000000-0000-4000-e103-000000000001'$$,
  $$values ('22P02'::text, 'invalid input syntax for type uuid: "not-a-uuid"'::text, 5000::bigint,
            interval '14 days', null::timestamptz, null::uuid)$$,
  'the failure is recorded with its error and the settings');

-- The cause is gone; the operator grants the trial.
select set_config('request.jwt.claims', '', true);
select is((public.retry_signup_trial('00000000-0000-4000-e103-000000000001') ->> 'token_amount')::bigint, 5000::bigint,
  'retry_signup_trial grants it');
select is(tests.ledger_footprint('00000000-0000-4000-e103-000000000001'), 'balance=5000 lots=1 remaining=5000 transactions=1',
  'one trial');
select results_eq(
  $$select f.resolved_at is not null, f.transaction_id = t.id
      from public.signup_trial_failures f
      join public.token_transactions t on t.idempotency_key = 'signup:00000000-0000-4000-e103-000000000001'
     where f.user_id = '00000000-0000-4000-e103-000000000001'$$,
  $$values (true, true)$$, 'the failure is resolved and names the grant');
select is((public.retry_signup_trial('00000000-0000-4000-e103-000000000001') ->> 'replayed')::boolean, true,
  'a second retry replays');

-- The settings row gone (not even the settings can be read): still no failed sign-up.
delete from public.ledger_settings where id;
select lives_ok($$select tests.create_user('st-fail-2@example.test', '00000000-0000-4000-e103-000000000002')$$,
  'without settings a sign-up succeeds (and gets no trial)');

select * from finish();
rollback;
