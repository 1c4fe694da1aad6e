-- reserve_tokens looks up its key before it checks the feature catalog, as record_usage does:
-- the same request again returns the first hold even after the feature was switched off;
-- only a new reservation of it is 22023.
begin;
select plan(6);

select tests.create_user('rt-feature-off-alice@example.test', '00000000-0000-4000-c903-000000000001');
insert into public.token_features (id, description) values ('c903_sunset', 'a feature about to be switched off');
select public.grant_tokens('00000000-0000-4000-c903-000000000001', 100, 'admin_grant', 'c903-grant');

select tests.authenticate_as('00000000-0000-4000-c903-000000000001');
select set_config('test.first', public.reserve_tokens('c903_sunset', 30, 'c903-k1', null, 120)::text, true);
select tests.clear_authentication();

update public.token_features set active = false where id = 'c903_sunset';

select tests.authenticate_as('00000000-0000-4000-c903-000000000001');
select set_config('test.again', public.reserve_tokens('c903_sunset', 30, 'c903-k1', null, 120)::text, true);
select is(current_setting('test.again')::jsonb -> 'replayed', 'true'::jsonb,
  'the same request after the feature was switched off is a replay');
select is(current_setting('test.again')::jsonb - 'replayed', current_setting('test.first')::jsonb - 'replayed',
  'it returns the first hold');
select throws_ok($$select public.reserve_tokens('c903_sunset', 31, 'c903-k1', null, 120)$$, 'PT409', null,
  'the key with another request is still PT409');
select throws_ok($$select public.reserve_tokens('c903_sunset', 30, 'c903-k2', null, 120)$$, '22023',
  'Unknown feature ''c903_sunset''.', 'a new reservation of the switched-off feature is 22023');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-c903-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1 holds=1 held=30', 'nothing more was held');

-- the service retrying the user's request gets the same replay
select tests.authenticate_as_service_role();
select is(public.reserve_tokens('c903_sunset', 30, 'c903-k1', '00000000-0000-4000-c903-000000000001', 120) ->> 'hold_id',
  current_setting('test.first')::jsonb ->> 'hold_id', 'the service replays it too');
select tests.clear_authentication();

select * from finish();
rollback;
