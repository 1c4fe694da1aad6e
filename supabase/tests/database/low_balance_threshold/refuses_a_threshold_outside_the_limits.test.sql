-- A user's threshold must lie between ledger_settings' low_balance_threshold_min and _max:
-- outside, 22023 and nothing is stored. The limits are the operator's to change.
begin;
select plan(7);

select tests.create_user('threshold-limits@example.test', '00000000-0000-4000-8a03-000000000001');
select public.update_ledger_settings('{"low_balance_threshold_min": 100, "low_balance_threshold_max": 5000}');

select tests.authenticate_as('00000000-0000-4000-8a03-000000000001');
select throws_ok($$select public.set_low_balance_threshold(99)$$, '22023',
  'p_threshold must be between 100 and 5000 tokens.', 'below the min is refused');
select throws_ok($$select public.set_low_balance_threshold(5001)$$, '22023', null, 'above the max is refused');
select throws_ok($$select public.set_low_balance_threshold(0)$$, '22023', null, '0 (off) is refused when the min is above 0');
select is((public.set_low_balance_threshold(100) ->> 'threshold')::bigint, 100::bigint, 'the min itself is allowed');
select is((public.set_low_balance_threshold(5000) ->> 'threshold')::bigint, 5000::bigint, 'the max itself is allowed');
select is(public.get_low_balance_threshold() -> 'min', '100'::jsonb, 'the result says the limits');
select tests.clear_authentication();
select tests.authenticate_as_service_role();
select throws_ok($$select public.set_low_balance_threshold(100, '00000000-0000-4000-8a03-0000000000ff')$$, '22023', null,
  'an unknown user is refused');

select * from finish();
rollback;
