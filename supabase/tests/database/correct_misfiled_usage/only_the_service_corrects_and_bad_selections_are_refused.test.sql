-- correct_misfiled_usage is for operators: only the service (anon has no EXECUTE; a user and an
-- admin get 42501). A selection must name something, select only legacy usage rows, and name a
-- credit type; applying needs the plan_hash of the reviewed dry run (22023 otherwise). A
-- refused call, and a dry run, write nothing.
begin;
select plan(13);

select tests.create_user('misfiled-roles@example.test', '00000000-0000-4000-8b0a-000000000001');
select tests.create_user('misfiled-roles-admin@example.test', '00000000-0000-4000-8b0a-000000000002');
insert into public.token_usage (id, user_id, feature, tokens, metadata, created_at, is_legacy) values
  ('00000000-0000-4000-8b0a-0000000000a1', '00000000-0000-4000-8b0a-000000000001', 'chat', 5000,
   '{"pack_id": "pack_small", "misfiled_roles": true}', '2025-01-01', true);
select public.grant_tokens('00000000-0000-4000-8b0a-000000000001', 10, 'admin_grant', 'misfiled-roles-g');
select public.record_usage('chat', 1, 'misfiled-roles-u', '00000000-0000-4000-8b0a-000000000001');
select set_config('test.before', tests.ledger_footprint('00000000-0000-4000-8b0a-000000000001'), true);

select ok(not has_function_privilege('anon', 'public.correct_misfiled_usage(text, uuid[], text, text, jsonb, text, boolean, text)', 'execute')
          and not has_function_privilege('authenticated', 'public.correct_misfiled_usage(text, uuid[], text, text, jsonb, text, boolean, text)', 'execute'),
  'neither anon nor authenticated has EXECUTE on correct_misfiled_usage');
select tests.authenticate_as_anon();
select throws_ok($$select public.correct_misfiled_usage('purchase', p_metadata => '{"misfiled_roles": true}')$$, '42501', null,
  'anon cannot correct');
select tests.authenticate_as('00000000-0000-4000-8b0a-000000000001');
select throws_ok($$select public.correct_misfiled_usage('purchase', p_metadata => '{"misfiled_roles": true}')$$, '42501', null,
  'the rows'' own user cannot correct');
select tests.authenticate_as_admin('00000000-0000-4000-8b0a-000000000002');
select throws_ok($$select public.correct_misfiled_usage('purchase', p_metadata => '{"misfiled_roles": true}')$$, '42501', null,
  'an admin cannot correct (operators use the service)');

select tests.authenticate_as_service_role();
select throws_ok($$select public.correct_misfiled_usage('purchase')$$, '22023', null, 'a selection that names nothing is refused');
select throws_ok($$select public.correct_misfiled_usage('refund', p_metadata => '{"misfiled_roles": true}')$$, '22023', null,
  'a type that is not a credit is refused');
select throws_ok($$select public.correct_misfiled_usage('purchase', p_usage_ids => array[(select id from public.token_usage
    where idempotency_key = 'misfiled-roles-u')])$$, '22023', null, 'a ledger (not legacy) usage row is refused');
select throws_ok($$select public.correct_misfiled_usage('purchase', p_usage_ids => array['00000000-0000-4000-8b0a-0000000000ff'::uuid])$$,
  '22023', null, 'an unknown row is refused');
select throws_ok($$select public.correct_misfiled_usage('purchase', p_metadata => '[1]')$$, '22023', null,
  'a metadata pattern that is not an object is refused');
select is((public.correct_misfiled_usage('purchase', p_metadata => '{"misfiled_roles": true}') -> 'rows' -> 0 -> 'becomes')
            - 'created_at',
  '{"transaction_type": "purchase", "token_amount": 5000, "source": "misfiled_usage", "pack_id": "pack_small", "stripe_checkout_session_id": null, "is_legacy": true}'::jsonb,
  'the service gets a dry run saying what the row would become');
select throws_ok($$select public.correct_misfiled_usage('purchase', p_metadata => '{"misfiled_roles": true}', p_apply => true)$$,
  '22023', 'p_plan_hash does not match this selection: apply only a plan you reviewed.', 'applying without the plan''s hash is refused');
select throws_ok($$select public.correct_misfiled_usage('admin_grant', p_metadata => '{"misfiled_roles": true}', p_apply => true,
    p_plan_hash => (public.correct_misfiled_usage('purchase', p_metadata => '{"misfiled_roles": true}') ->> 'plan_hash'))$$,
  '22023', null, 'the hash of a plan for another type is refused');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8b0a-000000000001') || ' corrections=' ||
            (select count(*) from public.token_usage_corrections where user_id = '00000000-0000-4000-8b0a-000000000001'),
  current_setting('test.before') || ' corrections=0', 'nothing was written');

select * from finish();
rollback;
