-- The trial's settings are columns of ledger_settings, set through update_ledger_settings:
-- trial_tokens is 0 to 10^15, trial_lifetime is null (never expires) or a positive number of
-- days and time (a month is no fixed length). Anything else is 22023 and changes nothing.
begin;
select plan(8);

create temporary table before_row as select * from public.ledger_settings;

select throws_ok($$select public.update_ledger_settings('{"trial_tokens": -1}')$$, '22023', null, 'a negative trial');
select throws_ok($$select public.update_ledger_settings('{"trial_tokens": 1000000000000001}')$$, '22023', null,
  'a trial over 10^15 tokens');
select throws_ok($$select public.update_ledger_settings('{"trial_lifetime": "1 month"}')$$, '22023', null, 'a lifetime in months');
select throws_ok($$select public.update_ledger_settings('{"trial_lifetime": "0 days"}')$$, '22023', null, 'a lifetime of 0');
select throws_ok($$select public.update_ledger_settings('{"trial_lifetime": "-1 day"}')$$, '22023', null, 'a negative lifetime');
select throws_ok($$select public.update_ledger_settings('{"trial_lifetime": "soon"}')$$, '22023', null, 'not an interval');
select results_eq($$select * from public.ledger_settings$$, $$select * from before_row$$, 'nothing changed');

select results_eq(
  $$select (public.update_ledger_settings('{"trial_tokens": 50000, "trial_lifetime": "30 days 12:00"}') - 'updated_at')
           - 'low_balance_threshold' - 'low_balance_threshold_min' - 'low_balance_threshold_max'$$,
  $$values ('{"id": true, "trial_tokens": 50000, "trial_lifetime": "30 days 12:00:00"}'::jsonb)$$,
  'a trial of 50,000 tokens for 30 and a half days is taken');

select * from finish();
rollback;
