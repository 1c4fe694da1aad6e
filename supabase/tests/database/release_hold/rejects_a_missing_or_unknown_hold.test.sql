-- release_hold rejects a missing or unknown hold with 22023 and changes nothing.
begin;
select plan(5);

select tests.create_user('rh-bad-alice@example.test', '00000000-0000-4000-b306-000000000001', 100);
select public.reserve_tokens('chat', 40, 'h', '00000000-0000-4000-b306-000000000001');

select tests.authenticate_as('00000000-0000-4000-b306-000000000001');
select throws_ok($$select public.release_hold(null)$$, '22023', 'p_hold_id is required.', 'a null hold id is rejected');
select throws_ok($$select public.release_hold('00000000-0000-4000-b306-0000000000ff')$$, '22023', null, 'an unknown hold is rejected');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select throws_ok($$select public.release_hold('00000000-0000-4000-b306-0000000000fe')$$, '22023', null,
  'an unknown hold is rejected for the service too');
select throws_ok($$select public.release_hold(null)$$, '22023', null, 'and so is a null one');
select tests.clear_authentication();
select results_eq(
  $$select status, tokens_released from public.token_holds where user_id = '00000000-0000-4000-b306-000000000001'$$,
  $$values ('held'::text, null::bigint)$$, 'the user''s hold is untouched');

select * from finish();
rollback;
