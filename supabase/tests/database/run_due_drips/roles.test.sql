-- Only the service runs the drip batch: anon, a signed-in user and an admin get 42501 and
-- nothing is written; service_role (and a session that did not switch role, as pg_cron's
-- job does) may.
begin;
select plan(11);
set local timezone to 'UTC';

-- Subscriptions committed by other runs (e.g. the Deno tests) are not part of this scenario:
-- within this rolled-back transaction they stop dripping.
update public.customer_subscriptions set status = 'canceled' where next_drip_at is not null;

create function pg_temp.footprint() returns text language sql as $f$
  select format('drips=%s lots=%s balance=%s next=%s',
    (select count(*) from public.token_drips d where d.user_id = '00000000-0000-4000-d203-000000000001'),
    (select count(*) from public.token_lots l where l.user_id = '00000000-0000-4000-d203-000000000001'),
    (select b.balance from public.token_balances b where b.user_id = '00000000-0000-4000-d203-000000000001'),
    (select s.next_cycle_number from public.customer_subscriptions s where s.id = '00000000-0000-4000-d203-0000000000a1'))
$f$;

insert into auth.users (id, email, raw_app_meta_data) values
  ('00000000-0000-4000-d203-000000000001', 'rdd-roles-alice@example.test', '{}'),
  ('00000000-0000-4000-d203-000000000002', 'rdd-roles-admin@example.test', '{"role": "admin"}');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-d203-0000000000a1', '00000000-0000-4000-d203-000000000001', 'default', 'active', now());

select function_privs_are('public', 'run_due_drips', array['timestamp with time zone', 'integer'], 'anon', '{}'::text[],
  'anon has no EXECUTE on run_due_drips');
select function_privs_are('public', 'run_due_drips', array['timestamp with time zone', 'integer'], 'authenticated', '{}'::text[],
  'authenticated has no EXECUTE on run_due_drips');
select function_privs_are('public', 'run_due_drips', array['timestamp with time zone', 'integer'], 'service_role', array['EXECUTE'],
  'service_role has EXECUTE on run_due_drips');

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select public.run_due_drips(now(), 10)$$, '42501', null, 'anon cannot run the drip batch');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-d203-000000000001","role":"authenticated"}', true);
select throws_ok($$select public.run_due_drips(now(), 10)$$, '42501', null, 'a subscriber cannot run the drip batch');
reset role;

set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"00000000-0000-4000-d203-000000000002","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select throws_ok($$select public.run_due_drips()$$, '42501', null, 'an admin cannot run the drip batch');
reset role;

select is(pg_temp.footprint(), 'drips=0 lots=0 balance=0 next=1', 'the refused calls wrote nothing');

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(public.run_due_drips(now(), 10) ->> 'cycles_issued', '1', 'service_role runs the drip batch');
reset role;
select is(public.run_due_drips(now() + interval '28 days', 10) ->> 'cycles_issued', '1',
  'a session that did not switch role (pg_cron) runs it like the service');
select is(pg_temp.footprint(), 'drips=2 lots=2 balance=750000 next=3', 'two cycles written');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d203-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
