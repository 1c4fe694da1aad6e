-- The operators' RPCs are the service's, checked from one table: verify_token_ledger,
-- reconcile_token_ledger and run_ledger_reconciliation (the ledger checks), claim_token_alerts
-- and mark_token_alerts_delivered (the alert outbox). anon and authenticated have no EXECUTE;
-- anon, a user (even for their own ledger or their own alert) and an admin (a signed-in user)
-- get 42501 and change nothing (the alert is untouched); service_role may, and so may a session
-- that did not switch role (pg_cron, the SQL editor). Only the service reads
-- ledger_reconciliation_runs, and only the job writes it.
begin;
select plan(6);

create temporary table person (who text primary key, id uuid);
insert into person values ('alice', '00000000-0000-4000-8503-000000000001'), ('admin', '00000000-0000-4000-8503-000000000003');
select tests.create_user(format('operator-roles-%s@example.test', who), id) from person;
select public.set_low_balance_threshold(10, '00000000-0000-4000-8503-000000000001');
select public.grant_tokens('00000000-0000-4000-8503-000000000001', 10, 'admin_grant', 'operator-roles-g');
select public.record_usage('chat', 1, 'operator-roles-u', '00000000-0000-4000-8503-000000000001');
select set_config('test.alert', (select id::text from public.token_alerts where user_id = '00000000-0000-4000-8503-000000000001'), true);

select results_eq(
  $$select sig, has_function_privilege('anon', sig, 'execute'), has_function_privilege('authenticated', sig, 'execute'),
        has_function_privilege('service_role', sig, 'execute')
      from unnest(array['public.verify_token_ledger(uuid)', 'public.reconcile_token_ledger(uuid, boolean)',
        'public.run_ledger_reconciliation()', 'public.claim_token_alerts(integer, integer)',
        'public.mark_token_alerts_delivered(uuid[])']) sig order by sig$$,
  $$values ('public.claim_token_alerts(integer, integer)', false, false, true),
           ('public.mark_token_alerts_delivered(uuid[])', false, false, true),
           ('public.reconcile_token_ledger(uuid, boolean)', false, false, true),
           ('public.run_ledger_reconciliation()', false, false, true),
           ('public.verify_token_ledger(uuid)', false, false, true)$$,
  'only service_role has EXECUTE on the operators'' RPCs');
select ok(not has_table_privilege('anon', 'public.ledger_reconciliation_runs', 'select')
          and not has_table_privilege('authenticated', 'public.ledger_reconciliation_runs', 'select')
          and has_table_privilege('service_role', 'public.ledger_reconciliation_runs', 'select')
          and not has_table_privilege('service_role', 'public.ledger_reconciliation_runs', 'insert'),
  'only the service reads the runs, and nobody writes them but the job');

-- Call n: which call (each answers what it found: drift rows, problems, the job's status, how
-- many of the alert it claimed), by whom (a kind of caller, and whose token it is).
create temporary table attempt (n int, call text, caller text, token_of text);
insert into attempt values
  (1, 'verify', 'anon', null), (2, 'verify', 'user', 'alice'), (3, 'verify', 'admin', 'admin'),
  (4, 'reconcile', 'anon', null), (5, 'reconcile', 'user', 'alice'), (6, 'reconcile', 'admin', 'admin'),
  (7, 'run the reconciliation', 'user', 'alice'), (8, 'run the reconciliation', 'admin', 'admin'),
  (9, 'claim', 'anon', null), (10, 'claim', 'user', 'alice'), (11, 'claim', 'admin', 'admin'),
  (12, 'mark delivered', 'user', 'alice'), (13, 'mark delivered', 'admin', 'admin'),
  (14, 'verify', 'service', null), (15, 'verify', 'session', null),
  (16, 'reconcile', 'service', null), (17, 'run the reconciliation', 'service', null),
  (18, 'claim', 'service', null);
create function pg_temp.attempt(p_from int, p_to int)
returns table (n int, call text, result text) language sql as $f$
  select a.n, a.call, tests.outcome_as(tests.caller_claims(a.caller, p.id), case a.call
      when 'verify' then $q$select 'ok' || count(*) from public.verify_token_ledger('00000000-0000-4000-8503-000000000001')$q$
      when 'reconcile' then $q$select 'problems ' || coalesce(string_agg(problems::text, ','), 'none')
        from public.reconcile_token_ledger('00000000-0000-4000-8503-000000000001')$q$
      when 'run the reconciliation' then $q$select 'ok ' || (public.run_ledger_reconciliation() ->> 'status')$q$
      when 'claim' then format('select ''claimed '' || count(*) from public.claim_token_alerts() where id = %L',
        current_setting('test.alert'))
      when 'mark delivered' then format('select ''ok'' from public.mark_token_alerts_delivered(array[%L::uuid])',
        current_setting('test.alert'))
    end)
  from attempt a left join person p on p.who = a.token_of
  where a.n between p_from and p_to
  order by a.n
$f$;

select results_eq(
  $$select n, result from pg_temp.attempt(1, 13)$$,
  $$select n, 'error 42501' from generate_series(1, 13) n$$,
  'anon, a user (for their own ledger and alert too) and an admin: 42501');
select results_eq(
  $$select attempts, claimed_until, delivered_at from public.token_alerts where id = current_setting('test.alert')::uuid$$,
  $$values (0, null::timestamptz, null::timestamptz)$$,
  'the refused calls left the alert untouched');
select results_eq(
  $$select n, call, result from pg_temp.attempt(14, 18)$$,
  $$values (14, 'verify', 'ok0'),                     -- the service verifies (a healthy ledger: no rows)
           (15, 'verify', 'ok0'),                     -- and so does a session that did not switch role
           (16, 'reconcile', 'problems {}'),          -- the service reconciles a user (no problem)
           (17, 'run the reconciliation', 'ok ok'),   -- the service runs the job
           (18, 'claim', 'claimed 1')$$,              -- the service claims the alert
  'the service (and a session) verify, reconcile, run the job and claim alerts');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
