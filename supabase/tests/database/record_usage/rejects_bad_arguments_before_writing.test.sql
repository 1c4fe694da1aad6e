-- record_usage rejects bad arguments with 22023 before it writes anything: unknown or
-- inactive feature, bad token counts, bad keys, non-object metadata, an over-long model.
-- The boundaries themselves are accepted. (Callers with no known user, and the service naming
-- nobody: security/spending_rpcs_act_for_the_caller_unless_the_service_names_the_user.)
begin;
select plan(28);

select tests.create_user('ru-bad-alice@example.test', '00000000-0000-4000-8105-000000000001', 100);
select tests.create_user('ru-bad-bob@example.test', '00000000-0000-4000-8105-000000000002');
insert into public.token_features (id, description, active) values ('ru_bad_retired', 'retired feature', false);

select tests.authenticate_as('00000000-0000-4000-8105-000000000001');
-- what every RPC refuses (tokens beyond 10^15 too: 22023, not PT402)
select is(tests.error_sqlstate(tests.call_sql('public.record_usage',
    array['p_feature', $$'chat'$$, 'p_tokens', '1', 'p_idempotency_key', $$'ru-bad-1'$$], b.param, b.value)), '22023', b.description)
  from tests.bad_arguments('p_feature', 'p_tokens', 'p_idempotency_key', 'p_metadata') b;
-- and record_usage's own rules
select throws_ok($$select public.record_usage('ru_bad_retired', 1, 'ru-bad-1')$$, '22023', null, 'an inactive feature is rejected');
select throws_ok($$select public.record_usage('chat', 1, 'ru-bad-1', null, repeat('m', 201))$$, '22023', null, 'a model name over 200 characters is rejected');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8105-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1', 'none of the rejected calls wrote anything');


-- the boundaries are accepted
select tests.authenticate_as('00000000-0000-4000-8105-000000000001');
select lives_ok($$select public.record_usage('chat', 1, repeat('k', 255))$$, 'a key of 255 characters is accepted');
select lives_ok($$select public.record_usage('chat', 1, ' padded key ')$$, 'a key with spaces around it is accepted');
select lives_ok($$select public.record_usage('chat', 1, 'ru-bad-model', null, repeat('m', 200))$$, 'a model name of 200 characters is accepted');
select lives_ok($$select public.record_usage('chat', 1, 'ru-bad-meta', null, null, '{"nested":{"a":[1,2,3]}}')$$, 'object metadata is accepted');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8105-000000000001'),
  'balance=96 lots=1 remaining=96 transactions=1 usage=4 used=4', 'the accepted calls spent one token each');

select public.grant_tokens('00000000-0000-4000-8105-000000000002', 1000000000000000, 'admin_grant', 'ru-bad-max');
select tests.authenticate_as('00000000-0000-4000-8105-000000000002');
select is((public.record_usage('chat', 1000000000000000, 'ru-bad-max') ->> 'balance_after')::bigint, 0::bigint,
  'exactly 10^15 tokens may be spent');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8105-000000000002'),
  'balance=0 lots=1 remaining=0 transactions=1 usage=1 used=1000000000000000', 'bob spent them all');

-- the feature catalog decides: switched on it accepts usage, switched off again it does not
update public.token_features set active = true where id = 'ru_bad_retired';
select public.grant_tokens('00000000-0000-4000-8105-000000000002', 5, 'admin_grant', 'ru-bad-bob-5');
select tests.authenticate_as('00000000-0000-4000-8105-000000000002');
select lives_ok($$select public.record_usage('ru_bad_retired', 1, 'ru-bad-reactivated')$$, 'a reactivated feature accepts usage');
select tests.clear_authentication();
update public.token_features set active = false where id = 'ru_bad_retired';
select tests.authenticate_as('00000000-0000-4000-8105-000000000002');
select throws_ok($$select public.record_usage('ru_bad_retired', 1, 'ru-bad-deactivated')$$, '22023', null,
  'a deactivated feature rejects new usage');
select tests.clear_authentication();

select * from finish();
rollback;
