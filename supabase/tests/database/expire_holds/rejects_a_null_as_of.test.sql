-- expire_holds rejects a null p_as_of with 22023 and expires nothing.
begin;
select plan(3);

select tests.create_user('eh-bad-alice@example.test', '00000000-0000-4000-b404-000000000001', 100);
select public.reserve_tokens('chat', 10, 'lapsed', '00000000-0000-4000-b404-000000000001');
update public.token_holds set expires_at = now() - interval '1 second' where user_id = '00000000-0000-4000-b404-000000000001';

select tests.authenticate_as_service_role();
select throws_ok($$select public.expire_holds(null)$$, '22023', 'p_as_of is required.', 'a null p_as_of is rejected');
select tests.clear_authentication();
select throws_ok($$select public.expire_holds(null)$$, '22023', null, 'for a superuser session too');
select is((select status from public.token_holds where user_id = '00000000-0000-4000-b404-000000000001'), 'held',
  'nothing was expired');

select * from finish();
rollback;
