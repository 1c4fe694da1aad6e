-- settle_hold rejects bad arguments with 22023 and writes nothing: no hold id, an unknown
-- hold, bad token counts, non-object or oversized metadata, an over-long model. The hold
-- stays held and may be settled afterwards; the boundaries are accepted.
begin;
select plan(15);

select tests.create_user('sh-bad-alice@example.test', '00000000-0000-4000-b209-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b209-000000000001');
select set_config('test.h', public.reserve_tokens('chat', 40, 'sh-bad-hold') ->> 'hold_id', true);
-- the hold
select throws_ok($$select public.settle_hold(null, 10)$$, '22023', 'p_hold_id is required.', 'a null hold id is rejected');
select throws_ok($$select public.settle_hold('00000000-0000-4000-b209-0000000000ff', 10)$$, '22023', null,
  'an unknown hold is rejected');
-- tokens
select throws_ok($$select public.settle_hold(current_setting('test.h')::uuid, null)$$, '22023', null, 'null tokens are rejected');
select throws_ok($$select public.settle_hold(current_setting('test.h')::uuid, -1)$$, '22023', null, 'negative tokens are rejected');
select throws_ok($$select public.settle_hold(current_setting('test.h')::uuid, 1000000000000001)$$, '22023', null,
  'more than 10^15 tokens is rejected');
-- metadata and model
select throws_ok($$select public.settle_hold(current_setting('test.h')::uuid, 10, null, '[]')$$, '22023', null, 'array metadata is rejected');
select throws_ok($$select public.settle_hold(current_setting('test.h')::uuid, 10, null, '"text"')$$, '22023', null, 'string metadata is rejected');
select throws_ok($$select public.settle_hold(current_setting('test.h')::uuid, 10, null, 'null'::jsonb)$$, '22023', null,
  'JSON null metadata is rejected');
select throws_ok($$select public.settle_hold(current_setting('test.h')::uuid, 10, null, jsonb_build_object('blob', repeat('x', 17000)))$$,
  '22023', null, 'metadata over 16 KiB is rejected');
select throws_ok($$select public.settle_hold(current_setting('test.h')::uuid, 10, repeat('m', 201))$$, '22023', null,
  'a model name over 200 characters is rejected');
select tests.clear_authentication();
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-b209-000000000001'), tests.hold_statuses('00000000-0000-4000-b209-000000000001')), 'balance=100 lots=1 remaining=100 transactions=1 holds=1 held=40 sh-bad-hold:held',
  'none of the rejected calls wrote anything; the hold is still held');

select tests.authenticate_as_service_role();
select throws_ok($$select public.settle_hold('00000000-0000-4000-b209-0000000000fe', 10)$$, '22023', null,
  'an unknown hold is rejected for the service too');
select tests.clear_authentication();

-- the boundaries are accepted: a model of 200 characters, metadata that is an object
select tests.authenticate_as('00000000-0000-4000-b209-000000000001');
select lives_ok($$select public.settle_hold(current_setting('test.h')::uuid, 10, repeat('m', 200), '{"nested":{"a":[1,2,3]}}')$$,
  'the hold then settles with a model of 200 characters and object metadata');
select set_config('test.h2', public.reserve_tokens('chat', 1, 'sh-bad-hold2') ->> 'hold_id', true);
select lives_ok($$select public.settle_hold(current_setting('test.h2')::uuid, 1, null, null)$$, 'null metadata is taken as {}');
select tests.clear_authentication();
select results_eq(
  $$select tokens, length(model), metadata from public.token_usage where user_id = '00000000-0000-4000-b209-000000000001' order by tokens$$,
  $$values (1::bigint, null::int, '{}'::jsonb), (10::bigint, 200, '{"nested":{"a":[1,2,3]}}'::jsonb)$$,
  'the accepted settles wrote their usage rows');

select * from finish();
rollback;
