-- Who may close a hold, one rule for settle_hold and release_hold, checked for both from one
-- table: the hold's owner, an admin for its own hold, the service and a session that did not
-- switch role (pg_cron, the SQL editor) may. anon (no EXECUTE), another user (even settling
-- zero tokens, even with user_metadata.role = admin), a token without sub and an admin for
-- another user's hold get 42501 and change nothing.
begin;
select plan(6);

-- Each RPC gets its own users and holds: alice holds a1, a2, a3; the admin holds c1.
create temporary table holder (rpc text, who text, id uuid, tokens bigint);
insert into holder values
  ('release_hold', 'alice', '00000000-0000-4000-b305-000000000011', 100),
  ('release_hold', 'bob', '00000000-0000-4000-b305-000000000012', 0),
  ('release_hold', 'admin', '00000000-0000-4000-b305-000000000013', 100),
  ('settle_hold', 'alice', '00000000-0000-4000-b305-000000000021', 100),
  ('settle_hold', 'bob', '00000000-0000-4000-b305-000000000022', 0),
  ('settle_hold', 'admin', '00000000-0000-4000-b305-000000000023', 100);
select tests.create_user(format('close-roles-%s-%s@example.test', rpc, who), id, tokens) from holder;
create temporary table hold as
  select h.rpc, k.key, (public.reserve_tokens('chat', 10, k.key, h.id) ->> 'hold_id')::uuid as id
  from holder h join (values ('alice', 'a1'), ('alice', 'a2'), ('alice', 'a3'), ('admin', 'c1')) k(who, key) on k.who = h.who;

select results_eq(
  $$select rpc, has_function_privilege('anon', sig, 'execute') from (values
      ('release_hold', 'public.release_hold(uuid)'),
      ('settle_hold', 'public.settle_hold(uuid, bigint, text, jsonb)')) f(rpc, sig) order by rpc$$,
  $$values ('release_hold', false), ('settle_hold', false)$$,
  'anon has no EXECUTE on either');

-- The calls: case n, who calls (a kind of caller, and whose token it is), which hold, tokens
-- used (settle_hold only).
create temporary table attempt as
select r.rpc, v.n, v.hold, v.tokens, tests.caller_claims(v.caller, caller.id) as claims
from (values ('release_hold'), ('settle_hold')) r(rpc)
cross join (values
  (1, 'anon', null, 'a1', 7),
  (2, 'user', 'bob', 'a1', 7),
  (3, 'user', 'bob', 'a1', 0),
  (4, 'user_metadata admin', 'bob', 'a1', 7),
  (5, 'no sub', null, 'a1', 7),
  (6, 'admin', 'admin', 'a1', 7),
  (7, 'admin', 'admin', 'c1', 5),
  (8, 'user', 'alice', 'a1', 5),
  (9, 'service', null, 'a2', 5),
  (10, 'session', null, 'a3', 5)) v(n, caller, token_of, hold, tokens)
left join holder caller on caller.rpc = r.rpc and caller.who = v.token_of;

-- tests.outcome_as runs each call as its caller; the result names whose hold was closed.
create function pg_temp.close(p_from int, p_to int)
returns table (rpc text, n int, result text) language sql as $f$
  select a.rpc, a.n, coalesce(u.who, o.result)
  from attempt a
  join hold h on h.rpc = a.rpc and h.key = a.hold
  cross join lateral (select tests.outcome_as(a.claims, case a.rpc
      when 'settle_hold' then format('select public.settle_hold(%L, %s) ->> ''user_id''', h.id, a.tokens)
      else format('select public.release_hold(%L) ->> ''user_id''', h.id) end) as result) o
  left join holder u on u.rpc = a.rpc and u.id::text = o.result
  where a.n between p_from and p_to
  order by a.rpc, a.n
$f$;

select results_eq(
  $$select * from pg_temp.close(1, 6)$$,
  $$select r.rpc, n, 'error 42501' from (values ('release_hold'), ('settle_hold')) r(rpc), generate_series(1, 6) n
      order by 1, 2$$,
  'anon, another user (with zero tokens, with user_metadata claiming admin), a token without sub and an admin for alice''s hold: 42501');
select results_eq(
  $$select rpc, concat_ws(' ', tests.ledger_footprint(id), tests.hold_statuses(id)) from holder where who = 'alice' order by rpc$$,
  $$values ('release_hold', 'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=30 a1:held,a2:held,a3:held'),
           ('settle_hold', 'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=30 a1:held,a2:held,a3:held')$$,
  'the refused calls changed nothing for alice');
select results_eq(
  $$select * from pg_temp.close(7, 10)$$,
  $$select r.rpc, e.n, e.who from (values ('release_hold'), ('settle_hold')) r(rpc) cross join (values
      (7, 'admin'),   -- an admin closes its own hold
      (8, 'alice'),   -- the owner
      (9, 'alice'),   -- the service closes anyone's hold (the hold names the user)
      (10, 'alice')   -- a session that did not switch role acts like the service
    ) e(n, who) order by 1, 2$$,
  'the owner, an admin for its own hold, the service and a session close holds');
select results_eq(
  $$select rpc, who, concat_ws(' ', tests.ledger_footprint(id), tests.hold_statuses(id)) from holder order by rpc, who$$,
  $$values
    ('release_hold', 'admin', 'balance=100 lots=1 remaining=100 transactions=1 holds=1 held=0 c1:released:0'),
    ('release_hold', 'alice', 'balance=100 lots=1 remaining=100 transactions=1 holds=3 held=0 a1:released:0,a2:released:0,a3:released:0'),
    ('release_hold', 'bob', 'none'),
    ('settle_hold', 'admin', 'balance=95 lots=1 remaining=95 transactions=1 usage=1 used=5 holds=1 held=0 c1:settled:5'),
    ('settle_hold', 'alice', 'balance=85 lots=1 remaining=85 transactions=1 usage=3 used=15 holds=3 held=0 a1:settled:5,a2:settled:5,a3:settled:5'),
    ('settle_hold', 'bob', 'none')$$,
  'each hold closed once, by the accepted call; nothing for bob');
select is_empty($$select * from public.verify_token_ledger()$$, 'the ledger is consistent');

select * from finish();
rollback;
