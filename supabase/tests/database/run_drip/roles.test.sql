-- Only the service runs drips: anon, a signed-in user (even for its own subscription) and an
-- admin get 42501 and nothing is written; service_role (and a session that did not switch
-- role, like pg_cron or the SQL editor) may.
begin;
select plan(12);
set local timezone to 'UTC';

create function pg_temp.footprint() returns text language sql as $f$
  select format('drips=%s lots=%s balance=%s next=%s',
    (select count(*) from public.token_drips d where d.user_id = '00000000-0000-4000-d117-000000000001'),
    (select count(*) from public.token_lots l where l.user_id = '00000000-0000-4000-d117-000000000001'),
    (select b.balance from public.token_balances b where b.user_id = '00000000-0000-4000-d117-000000000001'),
    (select s.next_cycle_number from public.customer_subscriptions s where s.id = '00000000-0000-4000-d117-0000000000a1'))
$f$;

insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-4000-d117-000000000001', 'rd-roles-alice@example.test', '{}'),
  ('00000000-0000-4000-d117-000000000002', 'rd-roles-admin@example.test', '{"role": "admin"}');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-d117-0000000000a1', '00000000-0000-4000-d117-000000000001', 'default', 'active', now());

select function_privs_are('public', 'run_drip', array['uuid', 'timestamp with time zone'], 'anon', '{}'::text[],
  'anon has no EXECUTE on run_drip');
select function_privs_are('public', 'run_drip', array['uuid', 'timestamp with time zone'], 'authenticated', '{}'::text[],
  'authenticated has no EXECUTE on run_drip');
select function_privs_are('public', 'run_drip', array['uuid', 'timestamp with time zone'], 'service_role', array['EXECUTE'],
  'service_role has EXECUTE on run_drip');

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select public.run_drip('00000000-0000-4000-d117-0000000000a1', now())$$, '42501', null, 'anon cannot run drips');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-d117-000000000001","role":"authenticated"}', true);
select throws_ok($$select public.run_drip('00000000-0000-4000-d117-0000000000a1', now())$$, '42501', null,
  'a subscriber cannot run its own drip');
select throws_ok($$select public.run_drip('00000000-0000-4000-d117-0000000000a1')$$, '42501', null,
  'nor with the default as-of');
reset role;

set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-d117-000000000002","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.run_drip('00000000-0000-4000-d117-0000000000a1', now())$$, '42501', null, 'an admin cannot run drips');
reset role;

select is(pg_temp.footprint(), 'drips=0 lots=0 balance=0 next=1', 'the refused calls wrote nothing');

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((public.run_drip('00000000-0000-4000-d117-0000000000a1', now()) ->> 'cycles_issued')::int, 1, 'service_role runs drips');
reset role;
select is((public.run_drip('00000000-0000-4000-d117-0000000000a1', now() + interval '28 days') ->> 'cycles_issued')::int, 1,
  'a session that did not switch role (pg_cron, SQL editor) runs drips like the service');
select is(pg_temp.footprint(), 'drips=2 lots=2 balance=750000 next=3', 'two cycles written');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d117-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
