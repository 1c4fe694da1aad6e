-- token_features and token_packs are public catalogs: anyone reads the active rows (a
-- pricing page), inactive rows stay hidden, only the service manages them (insert and
-- update; rows are never deleted, usage and purchases point at them).
begin;
select plan(18);

insert into public.token_features (id, description, active) values
  ('lt_cat_on', 'visible', true), ('lt_cat_off', 'hidden', false);
insert into public.token_packs (id, stripe_price_id, tokens, active) values
  ('test-8604-on', 'price_test_8604_on', 10, true), ('test-8604-off', 'price_test_8604_off', 10, false);

select tests.authenticate_as_anon();
select results_eq($$select id from public.token_features where id like 'lt_cat_%'$$, $$values ('lt_cat_on'::text)$$,
  'anon sees active features only');
select results_eq($$select id from public.token_packs where id like 'test-8604-%'$$, $$values ('test-8604-on'::text)$$,
  'anon sees active packs only');
select ok((select count(*) from public.token_features where id in ('chat', 'vision_generation', 'blueprint_generation',
  'audio_generation', 'image_generation')) = 5, 'the shipped features are visible');
select throws_ok($$insert into public.token_features (id) values ('lt_cat_anon')$$, '42501', null, 'anon cannot add a feature');
select throws_ok($$update public.token_packs set tokens = 1000000 where id = 'test-8604-on'$$, '42501', null, 'anon cannot change a pack');
select tests.clear_authentication();

select tests.authenticate_as('00000000-0000-4000-8604-000000000001');
select results_eq($$select id from public.token_features where id like 'lt_cat_%'$$, $$values ('lt_cat_on'::text)$$,
  'a user sees active features only');
select results_eq($$select id from public.token_packs where id like 'test-8604-%'$$, $$values ('test-8604-on'::text)$$,
  'a user sees active packs only');
select throws_ok($$update public.token_packs set tokens = 1000000 where id = 'test-8604-on'$$, '42501', null, 'a user cannot change a pack');
select throws_ok($$update public.token_features set active = true where id = 'lt_cat_off'$$, '42501', null, 'a user cannot switch a feature on');
select throws_ok($$delete from public.token_packs where id = 'test-8604-on'$$, '42501', null, 'a user cannot delete a pack');
select tests.clear_authentication();

select tests.authenticate_as_admin('00000000-0000-4000-8604-000000000003');
select throws_ok($$insert into public.token_packs (id, tokens) values ('test-8604-admin', 5)$$, '42501', null,
  'an admin cannot add a pack directly either (the back office uses the service key)');
select tests.clear_authentication();

select tests.authenticate_as_service_role();
select results_eq($$select id from public.token_packs where id like 'test-8604-%' order by id$$,
  $$values ('test-8604-off'::text), ('test-8604-on'::text)$$, 'the service sees inactive packs too');
select lives_ok($$insert into public.token_packs (id, stripe_price_id, tokens) values ('test-8604-new', 'price_test_8604_new', 7)$$,
  'the service adds a pack');
select lives_ok($$update public.token_packs set active = false where id = 'test-8604-on'$$, 'the service retires a pack');
select lives_ok($$insert into public.token_features (id) values ('lt_cat_new')$$, 'the service adds a feature');
select throws_ok($$delete from public.token_packs where id = 'test-8604-off'$$, '42501', null, 'the service cannot delete a pack');
select throws_ok($$delete from public.token_features where id = 'lt_cat_off'$$, '42501', null, 'the service cannot delete a feature');
select tests.clear_authentication();

select tests.authenticate_as_anon();
select results_eq($$select id from public.token_packs where id like 'test-8604-%'$$, $$values ('test-8604-new'::text)$$,
  'after the changes anon sees the new pack and no longer the retired one');
select tests.clear_authentication();

select * from finish();
rollback;
