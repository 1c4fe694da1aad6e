-- update_ledger_settings refuses with 22023, and changes nothing, a change that is not an
-- object, names an unknown or read-only column, has a value of the wrong type, or breaks a
-- limit (a column's CHECK). A valid change touches only the columns it names.
begin;
select plan(11);

create temporary table before_row as select * from public.ledger_settings;

select throws_ok($$select public.update_ledger_settings(null)$$, '22023', null, 'null is refused');
select throws_ok($$select public.update_ledger_settings('[]')$$, '22023', null, 'an array is refused');
select throws_ok($$select public.update_ledger_settings('{}')$$, '22023', null, 'an empty object is refused');
select throws_ok($$select public.update_ledger_settings('{"no_such_setting": 1}')$$, '22023',
  'Unknown or read-only settings: no_such_setting.', 'an unknown key is refused, by name');
select throws_ok($$select public.update_ledger_settings('{"id": false}')$$, '22023', null, 'id is read-only');
select throws_ok($$select public.update_ledger_settings('{"updated_at": "2020-01-01"}')$$, '22023', null, 'updated_at is read-only');
select throws_ok($$select public.update_ledger_settings('{"low_balance_threshold": "many"}')$$, '22023', null,
  'a value of the wrong type is refused');
select throws_ok($$select public.update_ledger_settings('{"low_balance_threshold": -1}')$$, '22023', null,
  'a negative threshold is refused');
select throws_ok($$select public.update_ledger_settings('{"low_balance_threshold_min": 10, "low_balance_threshold_max": 5}')$$,
  '22023', null, 'a min above the max is refused');
select results_eq($$select * from public.ledger_settings$$, $$select * from before_row$$, 'nothing changed');

select public.update_ledger_settings('{"low_balance_threshold_max": 777}');
select results_eq(
  $$select low_balance_threshold, low_balance_threshold_min, low_balance_threshold_max from public.ledger_settings$$,
  $$select low_balance_threshold, low_balance_threshold_min, 777::bigint from before_row$$,
  'a valid change sets the named column and leaves the others');

select * from finish();
rollback;
