-- record_usage refuses to spend more than the balance: PT402 with the balance and the
-- requirement in the detail, and nothing is written.
begin;
select plan(9);

select tests.create_user('ru-402-alice@example.test', '00000000-0000-4000-8104-000000000001', 10);
select tests.create_user('ru-402-bob@example.test', '00000000-0000-4000-8104-000000000002');

-- alice has 10 and asks for 11
select tests.authenticate_as('00000000-0000-4000-8104-000000000001');
select is(tests.error_summary($$select public.record_usage('chat', 11, 'ru-402-a1')$$),
  'PT402 Insufficient tokens. (balance: 10, required: 11)',
  'one token more than the balance is refused: the detail gives the balance and the requirement');
select throws_ok($$select public.record_usage('chat', 1000000000000000, 'ru-402-a2')$$, 'PT402', 'Insufficient tokens.',
  'the largest request is refused the same way');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8104-000000000001'),
  'balance=10 lots=1 remaining=10 transactions=1', 'nothing was written for alice');

-- the key of a refused request is not used up: the same key works once there are tokens
select public.grant_tokens('00000000-0000-4000-8104-000000000001', 1, 'admin_grant', 'ru-402-grant-2');
select tests.authenticate_as('00000000-0000-4000-8104-000000000001');
select is(public.record_usage('chat', 11, 'ru-402-a1') -> 'replayed', 'false'::jsonb,
  'a key refused for lack of tokens is free for the retry');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8104-000000000001'),
  'balance=0 lots=2 remaining=0 transactions=2 usage=1 used=11', 'the retry spent the tokens');

-- bob never had tokens: no balance row yet
select tests.authenticate_as('00000000-0000-4000-8104-000000000002');
select is(tests.error_summary($$select public.record_usage('chat', 1, 'ru-402-b1')$$),
  'PT402 Insufficient tokens. (balance: 0, required: 1)',
  'a user without tokens cannot spend one: the detail says the balance is 0');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8104-000000000002'),
  'none', 'nothing was written for bob, not even a balance row');

-- the service is held to the balance too
select tests.authenticate_as_service_role();
select is(tests.error_summary($$select public.record_usage('chat', 1, 'ru-402-s1', '00000000-0000-4000-8104-000000000001')$$),
  'PT402 Insufficient tokens. (balance: 0, required: 1)',
  'the service cannot spend more than the balance either: with the same detail');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8104-000000000001'),
  'balance=0 lots=2 remaining=0 transactions=2 usage=1 used=11', 'nothing more was written for alice');

select * from finish();
rollback;
