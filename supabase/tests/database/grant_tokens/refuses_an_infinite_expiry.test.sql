-- grant_tokens refuses p_expires_at = 'infinity' (22023, nothing written): a lot that never
-- expires is a grant without p_expires_at. `-infinity` is refused too.
begin;
select plan(4);

select tests.create_user('gt-infinity-alice@example.test', '00000000-0000-4000-c906-000000000001');

select tests.authenticate_as_service_role();
select throws_ok(
  $$select public.grant_tokens('00000000-0000-4000-c906-000000000001', 100, 'trial_grant', 'c906-1', null, 'infinity')$$,
  '22023', 'p_expires_at must be a finite time: omit it for tokens that never expire.', 'an infinite expiry is refused');
select throws_ok(
  $$select public.grant_tokens('00000000-0000-4000-c906-000000000001', 100, 'trial_grant', 'c906-2', null, '-infinity')$$,
  '22023', null, 'so is -infinity');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-c906-000000000001'), 'none', 'nothing was written');

select tests.authenticate_as_service_role();
select is(public.grant_tokens('00000000-0000-4000-c906-000000000001', 100, 'trial_grant', 'c906-3') ->> 'token_amount', '100',
  'without p_expires_at the grant never expires');
select tests.clear_authentication();

select * from finish();
rollback;
