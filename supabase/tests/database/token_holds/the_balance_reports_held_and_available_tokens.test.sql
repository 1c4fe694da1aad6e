-- get_token_balance reports held (the tokens of active holds) and available (balance - held)
-- next to balance and debt, through a hold's life: reserved, lapsed, settled, released.
begin;
select plan(10);

create function pg_temp.view(p_user uuid) returns jsonb language sql as $f$
  select public.get_token_balance(p_user) - 'user_id' - 'lots' - 'next_expiry' - 'next_drip_at'
$f$;

select tests.create_user('th-gtb-alice@example.test', '00000000-0000-4000-b505-000000000001', 100);
select tests.create_user('th-gtb-admin@example.test', '00000000-0000-4000-b505-000000000002');
select tests.create_user('th-gtb-bob@example.test', '00000000-0000-4000-b505-000000000003');

select is(pg_temp.view('00000000-0000-4000-b505-000000000001'), '{"balance":100,"debt":0,"held":0,"available":100}'::jsonb,
  'without holds, available is the balance');
select set_config('test.h1', public.reserve_tokens('chat', 30, 'h1', '00000000-0000-4000-b505-000000000001') ->> 'hold_id', true);
select set_config('test.h2', public.reserve_tokens('chat', 20, 'h2', '00000000-0000-4000-b505-000000000001') ->> 'hold_id', true);
select set_config('test.h3', public.reserve_tokens('chat', 10, 'h3', '00000000-0000-4000-b505-000000000001') ->> 'hold_id', true);
select is(pg_temp.view('00000000-0000-4000-b505-000000000001'), '{"balance":100,"debt":0,"held":60,"available":40}'::jsonb,
  'three holds: 60 held, 40 available');

-- the user's own view, and an admin's
select tests.authenticate_as('00000000-0000-4000-b505-000000000001');
select is(public.get_token_balance() - 'user_id' - 'lots' - 'next_expiry' - 'next_drip_at', '{"balance":100,"debt":0,"held":60,"available":40}'::jsonb,
  'the user sees its held and available tokens');
select tests.clear_authentication();
select tests.authenticate_as_admin('00000000-0000-4000-b505-000000000002');
select is((public.get_token_balance('00000000-0000-4000-b505-000000000001') ->> 'held')::bigint, 60::bigint,
  'an admin sees another user''s held tokens');
select tests.clear_authentication();
select tests.authenticate_as('00000000-0000-4000-b505-000000000003');
select throws_ok($$select public.get_token_balance('00000000-0000-4000-b505-000000000001')$$, '42501', null,
  'another user does not');
select tests.clear_authentication();

-- h1 settles 25 (5 released), h2 is released, h3 lapses
select public.settle_hold(current_setting('test.h1')::uuid, 25);
select is(pg_temp.view('00000000-0000-4000-b505-000000000001'), '{"balance":75,"debt":0,"held":30,"available":45}'::jsonb,
  'a settled hold: its usage left the balance, it is held no more');
select public.release_hold(current_setting('test.h2')::uuid);
select is(pg_temp.view('00000000-0000-4000-b505-000000000001'), '{"balance":75,"debt":0,"held":10,"available":65}'::jsonb,
  'a released hold is held no more');
select tests.lapse_hold(current_setting('test.h3')::uuid);
select is(pg_temp.view('00000000-0000-4000-b505-000000000001'), '{"balance":75,"debt":0,"held":0,"available":75}'::jsonb,
  'a lapsed hold is held no more, before any sweep');

-- a user who never had tokens
select is(pg_temp.view('00000000-0000-4000-b505-000000000003'), '{"balance":0,"debt":0,"held":0,"available":0}'::jsonb,
  'a user without tokens: all zero');
select ok(public.get_token_balance('00000000-0000-4000-b505-000000000001') ?& array['user_id', 'balance', 'debt', 'held', 'available', 'lots', 'next_expiry'],
  'the balance keeps its earlier fields');

select * from finish();
rollback;
