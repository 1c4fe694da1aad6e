-- handle_stripe_event rejects what is not a Stripe snapshot event with 22023 before it writes
-- anything: not an object, no evt_ id, no type, no created (Unix seconds), no data.object.
-- (The webhook already answers 400 for most of these; the RPC does not rely on it.)
begin;
select plan(19);

select set_config('hse.event', tests.customer_created('evt_test_hse_invalid_1', 'cus_test_hse_invalid')::text, true);

create function pg_temp.rejects(p_event jsonb, p_description text) returns text language sql as $f$
  select throws_ok(format('select public.handle_stripe_event(%L::jsonb)', p_event), '22023', null, p_description)
$f$;

-- not an object
select throws_ok($$select public.handle_stripe_event(null)$$, '22023', null, 'SQL null is rejected');
select pg_temp.rejects('null', 'JSON null is rejected');
select pg_temp.rejects('[]', 'an array is rejected');
select pg_temp.rejects(jsonb_build_array(current_setting('hse.event')::jsonb), 'an array holding an event is rejected');
select pg_temp.rejects('"evt_test_hse_invalid_1"', 'a string is rejected');
select pg_temp.rejects('42', 'a number is rejected');
-- no evt_ id
select pg_temp.rejects(current_setting('hse.event')::jsonb - 'id', 'an event without an id is rejected');
select pg_temp.rejects(jsonb_set(current_setting('hse.event')::jsonb, '{id}', '"ch_test_hse_invalid"'), 'an id that is not evt_... is rejected');
select pg_temp.rejects(jsonb_set(current_setting('hse.event')::jsonb, '{id}', '"evt_"'), 'evt_ alone is rejected');
select pg_temp.rejects(jsonb_set(current_setting('hse.event')::jsonb, '{id}', '"evt_1''; drop table x; --"'), 'an id with other characters is rejected');
-- no type
select pg_temp.rejects(current_setting('hse.event')::jsonb - 'type', 'an event without a type is rejected');
select pg_temp.rejects(jsonb_set(current_setting('hse.event')::jsonb, '{type}', '""'), 'an empty type is rejected');
-- no created
select pg_temp.rejects(current_setting('hse.event')::jsonb - 'created', 'an event without created is rejected');
select pg_temp.rejects(jsonb_set(current_setting('hse.event')::jsonb, '{created}', '"yesterday"'), 'a created that is not Unix seconds is rejected');
select pg_temp.rejects(jsonb_set(current_setting('hse.event')::jsonb, '{created}', '-1'), 'a negative created is rejected');
-- no data.object
select pg_temp.rejects(current_setting('hse.event')::jsonb - 'data', 'an event without data is rejected');
select pg_temp.rejects(jsonb_set(current_setting('hse.event')::jsonb, '{data}', '{"object": "cus_1"}'), 'a data.object that is not an object is rejected');
select pg_temp.rejects(jsonb_set(current_setting('hse.event')::jsonb, '{data}', '{"object": null}'), 'a null data.object is rejected');

select is_empty($$select 1 from public.stripe_events where id like 'evt_test_hse_invalid%' or payload ->> 'id' like 'evt_test_hse_invalid%'$$,
  'nothing was recorded');

select * from finish();
rollback;
