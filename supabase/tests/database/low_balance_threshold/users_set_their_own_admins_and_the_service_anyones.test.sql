-- set_low_balance_threshold / get_low_balance_threshold: a user reads and sets their own
-- threshold, never another user's; admins and the service read and set anyone's; anon
-- neither. Refused calls change nothing.
begin;
select plan(16);

select tests.create_users('threshold-roles', '00000000-0000-4000-8a02-000000000001', '00000000-0000-4000-8a02-000000000002');
select tests.create_user('threshold-roles-admin@example.test', '00000000-0000-4000-8a02-000000000003');

select ok(not has_function_privilege('anon', 'public.set_low_balance_threshold(bigint, uuid)', 'execute')
          and not has_function_privilege('anon', 'public.get_low_balance_threshold(uuid)', 'execute'),
  'anon has no EXECUTE on either');
select tests.authenticate_as_anon();
select throws_ok($$select public.set_low_balance_threshold(5, '00000000-0000-4000-8a02-000000000001')$$, '42501', null,
  'anon cannot set a threshold');
select throws_ok($$select public.get_low_balance_threshold('00000000-0000-4000-8a02-000000000001')$$, '42501', null,
  'anon cannot read a threshold');

-- a user: their own
select tests.authenticate_as('00000000-0000-4000-8a02-000000000001');
select is(public.get_low_balance_threshold() - 'user_id' - 'default_threshold' - 'min' - 'max',
  '{"threshold": 10000, "is_default": true}'::jsonb, 'a user reads the default threshold');
select is(public.set_low_balance_threshold(2500) - 'user_id' - 'default_threshold' - 'min' - 'max',
  '{"threshold": 2500, "is_default": false}'::jsonb, 'a user sets their own threshold');
select is((public.get_low_balance_threshold('00000000-0000-4000-8a02-000000000001') ->> 'threshold')::bigint, 2500::bigint,
  'naming themselves is the same');
select results_eq($$select user_id, low_balance_threshold from public.token_alert_preferences$$,
  $$values ('00000000-0000-4000-8a02-000000000001'::uuid, 2500::bigint)$$, 'a user reads their own preference row');

-- another user
select tests.authenticate_as('00000000-0000-4000-8a02-000000000002');
select throws_ok($$select public.set_low_balance_threshold(1, '00000000-0000-4000-8a02-000000000001')$$, '42501', null,
  'another user cannot set alice''s threshold');
select throws_ok($$select public.get_low_balance_threshold('00000000-0000-4000-8a02-000000000001')$$, '42501', null,
  'another user cannot read alice''s threshold');
select is_empty($$select 1 from public.token_alert_preferences$$, 'another user sees no preference rows of alice (RLS)');

-- an admin
select tests.authenticate_as_admin('00000000-0000-4000-8a02-000000000003');
select is((public.get_low_balance_threshold('00000000-0000-4000-8a02-000000000001') ->> 'threshold')::bigint, 2500::bigint,
  'an admin reads alice''s threshold');
select is((public.set_low_balance_threshold(null, '00000000-0000-4000-8a02-000000000001') ->> 'is_default')::boolean, true,
  'an admin resets alice''s threshold to the default (null)');

-- the service
select tests.authenticate_as_service_role();
select throws_ok($$select public.get_low_balance_threshold()$$, '22023', null, 'the service must name the user');
select is((public.set_low_balance_threshold(0, '00000000-0000-4000-8a02-000000000002') ->> 'threshold')::bigint, 0::bigint,
  'the service sets bob''s threshold (0: alerts off)');
select is((public.get_low_balance_threshold('00000000-0000-4000-8a02-000000000002') ->> 'threshold')::bigint, 0::bigint,
  'the service reads bob''s threshold');
select tests.clear_authentication();

select results_eq($$select user_id, low_balance_threshold from public.token_alert_preferences
                     where user_id::text like '00000000-0000-4000-8a02-%' order by user_id$$,
  $$values ('00000000-0000-4000-8a02-000000000002'::uuid, 0::bigint)$$,
  'only what the allowed calls wrote is stored');

select * from finish();
rollback;
