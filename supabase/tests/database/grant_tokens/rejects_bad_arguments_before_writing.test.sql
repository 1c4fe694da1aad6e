-- grant_tokens rejects bad arguments with 22023 before it writes anything: missing or
-- unknown user, bad amounts, bad keys, an unknown type, an expiry that is not in the future,
-- an over-long source, non-object metadata. The boundaries themselves are accepted.
begin;
select plan(35);

select tests.create_user('gt-bad-alice@example.test', '00000000-0000-4000-8204-000000000001', 10);

select tests.authenticate_as_service_role();
-- what every RPC refuses (a negative amount: deductions use admin_deduction), then grant_tokens'
-- own rules: each row varies one argument
select is(tests.error_sqlstate(tests.call_sql('public.grant_tokens',
    array['p_user_id', $$'00000000-0000-4000-8204-000000000001'$$, 'p_amount', '1', 'p_type', $$'admin_grant'$$,
          'p_idempotency_key', $$'gt-bad-1'$$],
    b.param, b.value)), '22023', b.description)
  from (select * from tests.bad_arguments('p_user_id', 'p_amount', 'p_idempotency_key', 'p_metadata')
        union all values
          ('p_type', 'null', 'a null type is rejected'),
          ('p_type', $$'gift'$$, 'an unknown type is rejected'),
          ('p_type', $$'ADMIN_GRANT'$$, 'types are case-sensitive'),
          ('p_type', $$'purchase'$$, 'purchase is not a grant type (record_purchase is)'),
          ('p_type', $$'opening_balance'$$, 'opening_balance is not a grant type'),
          ('p_type', $$'expiration'$$, 'expiration is not a grant type'),
          ('p_type', $$'refund'$$, 'refund is not a grant type'),
          ('p_source', $$repeat('s', 201)$$, 'a source over 200 characters is rejected')
       ) b;
-- deductions and expiries: the type and the expiry together
select is(tests.error_sqlstate(pg_catalog.format(
    $$select public.grant_tokens('00000000-0000-4000-8204-000000000001', %s, %L, 'gt-bad-1', null, %s)$$,
    c.amount, c.type, c.expires_at)), '22023', c.description)
  from (values
    ('-5', 'admin_deduction', 'null', 'a negative deduction is rejected'),
    ('1', 'trial_grant', $$now() - interval '1 second'$$, 'an expiry in the past is rejected'),
    ('1', 'trial_grant', 'now()', 'an expiry of now is rejected'),
    ('1', 'admin_deduction', $$now() + interval '1 day'$$, 'an expiry on a deduction is rejected')
  ) c(amount, type, expires_at, description);
select tests.clear_authentication();
select is(tests.ledger_footprint('00000000-0000-4000-8204-000000000001'),
  'balance=10 lots=1 remaining=10 transactions=1', 'none of the rejected calls wrote anything');
select is(tests.ledger_footprint('00000000-0000-4000-8000-00000000dead'), 'none', 'no balance row was created for the unknown user');

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
