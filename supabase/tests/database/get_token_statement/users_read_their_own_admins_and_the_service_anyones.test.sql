-- get_token_statement: a user reads their own statement, never another user's; admins and
-- the service read anyone's (the service names the user); anon has no EXECUTE.
begin;
select plan(9);

select tests.create_user('statement-roles-alice@example.test', '00000000-0000-4000-8b01-000000000001');
select tests.create_user('statement-roles-bob@example.test', '00000000-0000-4000-8b01-000000000002');
select tests.create_user('statement-roles-admin@example.test', '00000000-0000-4000-8b01-000000000003');
select public.grant_tokens('00000000-0000-4000-8b01-000000000001', 100, 'admin_grant', 'statement-roles-g1');
select public.record_usage('chat', 30, 'statement-roles-u1', '00000000-0000-4000-8b01-000000000001');

select ok(not has_function_privilege('anon', 'public.get_token_statement(uuid, timestamptz, timestamptz, integer, text)', 'execute'),
  'anon has no EXECUTE on get_token_statement');
select tests.authenticate_as_anon();
select throws_ok($$select public.get_token_statement('00000000-0000-4000-8b01-000000000001')$$, '42501', null,
  'anon cannot read a statement');

select tests.authenticate_as('00000000-0000-4000-8b01-000000000001');
select is(jsonb_array_length(public.get_token_statement() -> 'entries'), 2, 'alice reads her own statement (two entries)');
select is(public.get_token_statement('00000000-0000-4000-8b01-000000000001') -> 'user_id',
  '"00000000-0000-4000-8b01-000000000001"'::jsonb, 'naming herself is the same');

select tests.authenticate_as('00000000-0000-4000-8b01-000000000002');
select throws_ok($$select public.get_token_statement('00000000-0000-4000-8b01-000000000001')$$, '42501', null,
  'bob cannot read alice''s statement');
select is(public.get_token_statement() -> 'entries', '[]'::jsonb, 'bob''s own statement is empty');

select tests.authenticate_as_admin('00000000-0000-4000-8b01-000000000003');
select is(jsonb_array_length(public.get_token_statement('00000000-0000-4000-8b01-000000000001') -> 'entries'), 2,
  'an admin reads alice''s statement');

select tests.authenticate_as_service_role();
select throws_ok($$select public.get_token_statement()$$, '22023', null, 'the service must name the user');
select is(jsonb_array_length(public.get_token_statement('00000000-0000-4000-8b01-000000000001') -> 'entries'), 2,
  'the service reads alice''s statement');

select * from finish();
rollback;
