-- retry_signup_trial is the service's (an operator's command): anon, users and admins get
-- 42501. No user, an unknown user and trials that are off are 22023, and nothing is written.
begin;
select plan(8);

select tests.create_user('rst-user@example.test', '00000000-0000-4000-e105-000000000001');
select tests.create_user('rst-admin@example.test', '00000000-0000-4000-e105-000000000002');

select tests.authenticate_as_anon();
select throws_ok($$select public.retry_signup_trial('00000000-0000-4000-e105-000000000001')$$, '42501', null, 'anon: 42501');
select tests.authenticate_as('00000000-0000-4000-e105-000000000001');
select throws_ok($$select public.retry_signup_trial('00000000-0000-4000-e105-000000000001')$$, '42501', null,
  'a user, even for itself: 42501');
select tests.authenticate_as_admin('00000000-0000-4000-e105-000000000002');
select throws_ok($$select public.retry_signup_trial('00000000-0000-4000-e105-000000000001')$$, '42501', null, 'an admin: 42501');

select tests.authenticate_as_service_role();
select throws_ok($$select public.retry_signup_trial('00000000-0000-4000-e105-000000000001')$$, '22023',
  'Sign-up trials are off (ledger_settings.trial_tokens is 0).', 'trials off: 22023');
select throws_ok($$select public.retry_signup_trial(null)$$, '22023', 'p_user_id is required.', 'no user: 22023');
select tests.clear_authentication();
select public.update_ledger_settings('{"trial_tokens": 100}');
select tests.authenticate_as_service_role();
select throws_ok($$select public.retry_signup_trial('00000000-0000-4000-e105-0000000000ff')$$, '22023', null, 'an unknown user: 22023');
select lives_ok($$select public.retry_signup_trial('00000000-0000-4000-e105-000000000001')$$, 'the service grants it');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-e105-000000000002'), 'none', 'nobody else got anything');

select * from finish();
rollback;
