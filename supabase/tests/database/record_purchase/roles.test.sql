-- Only the service records purchases (the Stripe webhook). anon and authenticated have no
-- EXECUTE; an admin is a signed-in user and is refused too.
begin;
select plan(11);

create function pg_temp.footprint(p_user uuid) returns text language sql as $f$
  select format('usage=%s transactions=%s lots=%s balances=%s balance=%s remaining=%s',
    (select count(*) from public.token_usage u where u.user_id = p_user),
    (select count(*) from public.token_transactions t where t.user_id = p_user),
    (select count(*) from public.token_lots l where l.user_id = p_user),
    (select count(*) from public.token_balances b where b.user_id = p_user),
    (select b.balance from public.token_balances b where b.user_id = p_user),
    (select sum(l.remaining) from public.token_lots l where l.user_id = p_user))
$f$;

insert into auth.users (id, email) values
  ('00000000-0000-4000-8303-000000000001', 'rp-roles-alice@example.test'),
  ('00000000-0000-4000-8303-000000000003', 'rp-roles-admin@example.test');
insert into public.token_packs (id, stripe_price_id, tokens) values ('test-8303-pack', 'price_test_8303', 100);

select ok(not has_function_privilege('anon', 'public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb)', 'execute'),
  'anon has no EXECUTE on record_purchase');
select ok(not has_function_privilege('authenticated', 'public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb)', 'execute'),
  'authenticated has no EXECUTE on record_purchase');

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd')$$,
  '42501', null, 'anon cannot record a purchase');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8303-000000000001","role":"authenticated"}', true);
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd')$$,
  '42501', null, 'a user cannot record its own purchase');
reset role;

set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-8303-000000000001","role":"authenticated","user_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd')$$,
  '42501', null, 'user_metadata.role = admin cannot record a purchase');
reset role;

set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-8303-000000000003","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd')$$,
  '42501', null, 'an admin cannot record a purchase for a user');
select throws_ok($$select public.record_purchase('00000000-0000-4000-8303-000000000003', 'test-8303-pack', 'rp-roles-2', 100, 'usd')$$,
  '42501', null, 'an admin cannot record a purchase for itself');
reset role;

select is(pg_temp.footprint('00000000-0000-4000-8303-000000000001'),
  'usage=0 transactions=0 lots=0 balances=0 balance= remaining=', 'nothing was written for alice');
select is(pg_temp.footprint('00000000-0000-4000-8303-000000000003'),
  'usage=0 transactions=0 lots=0 balances=0 balance= remaining=', 'nothing was written for the admin');

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((public.record_purchase('00000000-0000-4000-8303-000000000001', 'test-8303-pack', 'rp-roles-1', 100, 'usd') ->> 'balance_after')::bigint,
  100::bigint, 'the service records a purchase');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8303-000000000001'),
  'usage=0 transactions=1 lots=1 balances=1 balance=100 remaining=100', 'the service''s purchase was written');

select * from finish();
rollback;
