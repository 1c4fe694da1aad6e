-- grant_tokens rejects bad arguments with 22023 before it writes anything: missing or
-- unknown user, bad amounts, bad keys, an unknown type, an expiry that is not in the future,
-- an over-long source, non-object metadata. The boundaries themselves are accepted.
begin;
select plan(35);

select tests.create_user('gt-bad-alice@example.test', '00000000-0000-4000-8204-000000000001', 10);

select tests.authenticate_as_service_role();
-- what every RPC refuses (a negative amount: deductions use admin_deduction)
select is(tests.error_sqlstate(tests.call_sql('public.grant_tokens',
    array['p_user_id', $$'00000000-0000-4000-8204-000000000001'$$, 'p_amount', '1', 'p_type', $$'admin_grant'$$,
          'p_idempotency_key', $$'gt-bad-1'$$], b.param, b.value)), '22023', b.description)
  from tests.bad_arguments('p_amount', 'p_idempotency_key', 'p_metadata') b;
-- and grant_tokens' own rules
-- user
select throws_ok($$select public.grant_tokens(null, 1, 'admin_grant', 'gt-bad-1')$$, '22023', null, 'a null user is rejected');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-0000000000ff', 1, 'admin_grant', 'gt-bad-1')$$,
  '22023', null, 'an unknown user is rejected');
-- amount
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', -5, 'admin_deduction', 'gt-bad-1')$$,
  '22023', null, 'a negative deduction is rejected');
-- type: only the four grant types; the ledger's own types are not for callers
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, null, 'gt-bad-1')$$,
  '22023', null, 'a null type is rejected');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'gift', 'gt-bad-1')$$,
  '22023', null, 'an unknown type is rejected');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'ADMIN_GRANT', 'gt-bad-1')$$,
  '22023', null, 'types are case-sensitive');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'purchase', 'gt-bad-1')$$,
  '22023', null, 'purchase is not a grant type (record_purchase is)');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'opening_balance', 'gt-bad-1')$$,
  '22023', null, 'opening_balance is not a grant type');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'expiration', 'gt-bad-1')$$,
  '22023', null, 'expiration is not a grant type');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'refund', 'gt-bad-1')$$,
  '22023', null, 'refund is not a grant type');
-- expiry
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'trial_grant', 'gt-bad-1', null, now() - interval '1 second')$$,
  '22023', null, 'an expiry in the past is rejected');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'trial_grant', 'gt-bad-1', null, now())$$,
  '22023', null, 'an expiry of now is rejected');
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'admin_deduction', 'gt-bad-1', null, now() + interval '1 day')$$,
  '22023', null, 'an expiry on a deduction is rejected');
-- source
select throws_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'admin_grant', 'gt-bad-1', repeat('s', 201))$$,
  '22023', null, 'a source over 200 characters is rejected');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8204-000000000001'),
  'balance=10 lots=1 remaining=10 transactions=1', 'none of the rejected calls wrote anything');
select is(
  (select count(*)::int from public.token_balances where user_id = '00000000-0000-4000-8204-0000000000ff'),
  0, 'no balance row was created for the unknown user');

-- boundaries
select tests.authenticate_as_service_role();
select lives_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'admin_grant', repeat('k', 255))$$,
  'a key of 255 characters is accepted');
select lives_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'admin_grant', 'gt-bad-src', repeat('s', 200))$$,
  'a source of 200 characters is accepted');
select lives_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'trial_grant', 'gt-bad-soon', null, now() + interval '1 second')$$,
  'an expiry just after now is accepted');
select lives_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1, 'admin_grant', 'gt-bad-nullmeta', null, null, null)$$,
  'null metadata is accepted');
select lives_ok($$select public.grant_tokens('00000000-0000-4000-8204-000000000001', 1000000000000000, 'admin_grant', 'gt-bad-max')$$,
  'exactly 10^15 tokens is accepted');
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8204-000000000001'),
  'balance=1000000000000014 lots=6 remaining=1000000000000014 transactions=6', 'the accepted grants were written');

select * from finish();
rollback;
