-- reserve_tokens rejects bad arguments with 22023 before it writes anything: bad token
-- counts, bad keys, unknown or inactive features, a TTL outside 1..86400 seconds. The
-- boundaries themselves are accepted. (Callers with no known user, and the service naming
-- nobody: security/spending_rpcs_act_for_the_caller_unless_the_service_names_the_user.)
begin;
select plan(22);

select tests.create_user('rt-bad-alice@example.test', '00000000-0000-4000-b103-000000000001', 100);
insert into public.token_features (id, description, active) values ('rt_bad_retired', 'retired feature', false);

select tests.authenticate_as('00000000-0000-4000-b103-000000000001');
-- what every RPC refuses (tokens beyond 10^15 too: 22023, not PT402)
select is(tests.error_sqlstate(tests.call_sql('public.reserve_tokens',
    array['p_feature', $$'chat'$$, 'p_tokens', '1', 'p_idempotency_key', $$'rt-bad-1'$$], b.param, b.value)), '22023', b.description)
  from tests.bad_arguments('p_tokens', 'p_idempotency_key', 'p_feature') b;
-- and reserve_tokens' own rules
select throws_ok($$select public.reserve_tokens('rt_bad_retired', 1, 'rt-bad-1')$$, '22023', null, 'an inactive feature is rejected');
-- TTL
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-bad-1', null, null)$$, '22023',
  'p_ttl_seconds must be between 1 and 86400.', 'a null TTL is rejected');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-bad-1', null, 0)$$, '22023', null, 'a TTL of 0 is rejected');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-bad-1', null, -60)$$, '22023', null, 'a negative TTL is rejected');
select throws_ok($$select public.reserve_tokens('chat', 1, 'rt-bad-1', null, 86401)$$, '22023', null, 'a TTL over a day is rejected');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-b103-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1', 'none of the rejected calls wrote anything');


-- the boundaries are accepted
select tests.authenticate_as('00000000-0000-4000-b103-000000000001');
select is((public.reserve_tokens('chat', 1, 'rt-bad-ttl1', null, 1) ->> 'expires_at')::timestamptz, now() + interval '1 second',
  'a TTL of 1 second is accepted');
select is((public.reserve_tokens('chat', 1, 'rt-bad-ttl-day', null, 86400) ->> 'expires_at')::timestamptz, now() + interval '1 day',
  'a TTL of a day is accepted');
select lives_ok($$select public.reserve_tokens('chat', 1, repeat('k', 255))$$, 'a key of 255 characters is accepted');
select lives_ok($$select public.reserve_tokens('chat', 97, ' padded key ')$$, 'a key with spaces around it is accepted, and all the rest may be held');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-b103-000000000001'),
  'balance=100 lots=1 remaining=100 transactions=1 holds=4 held=100', 'the accepted calls wrote one hold each');

select * from finish();
rollback;
