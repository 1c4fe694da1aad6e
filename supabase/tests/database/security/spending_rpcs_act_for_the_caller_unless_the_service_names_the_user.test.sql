-- Who may spend whose tokens, one rule for record_usage and reserve_tokens, checked for both
-- from one table:
--   * anon: nobody (no EXECUTE, 42501);
--   * a signed-in user: itself only, with p_user_id null or its own id; naming another user 42501;
--   * a token without sub: nobody, with or without p_user_id (42501);
--   * user_metadata.role = admin (written by the user) allows nothing more (42501);
--   * an admin (app_metadata.role): itself only as well, since spending is the user's (42501);
--   * the service (service_role) and a session that did not switch role (pg_cron, the SQL
--     editor): anyone, but they must name the user (22023);
--   * nobody acts for a user missing from auth.users: neither the user's own token (a user
--     deleted since it signed in) nor the service naming it (22023);
--   * refused calls write nothing: each user ends with exactly the calls accepted for it;
--   * a key belongs to the user, whoever used it: the user retrying the service's key replays.
begin;
select plan(5);

-- Each RPC gets its own four users, so that its footprints show its calls only.
create temporary table spender (rpc text, who text, id uuid, tokens bigint);
insert into spender values
  ('record_usage', 'alice', '00000000-0000-4000-8106-000000000011', 100),
  ('record_usage', 'bob', '00000000-0000-4000-8106-000000000012', 100),
  ('record_usage', 'admin', '00000000-0000-4000-8106-000000000013', 100),
  ('record_usage', 'mallory', '00000000-0000-4000-8106-000000000014', 0),
  ('reserve_tokens', 'alice', '00000000-0000-4000-8106-000000000021', 100),
  ('reserve_tokens', 'bob', '00000000-0000-4000-8106-000000000022', 100),
  ('reserve_tokens', 'admin', '00000000-0000-4000-8106-000000000023', 100),
  ('reserve_tokens', 'mallory', '00000000-0000-4000-8106-000000000024', 0);
select tests.create_user(format('spend-roles-%s-%s@example.test', rpc, who), id, tokens) from spender;
-- and ghost, who signed in once but is missing from auth.users
insert into spender values
  ('record_usage', 'ghost', '00000000-0000-4000-8106-0000000000f1', 0),
  ('reserve_tokens', 'ghost', '00000000-0000-4000-8106-0000000000f2', 0);

select results_eq(
  $$select rpc, has_function_privilege('anon', sig, 'execute') from (values
      ('record_usage', 'public.record_usage(text, bigint, text, uuid, text, jsonb)'),
      ('reserve_tokens', 'public.reserve_tokens(text, bigint, text, uuid, integer)')) f(rpc, sig) order by rpc$$,
  $$values ('record_usage', false), ('reserve_tokens', false)$$,
  'anon has no EXECUTE on either');

-- Case n: who calls (a kind of caller, and whose token it is), the user they name (null: none)
-- and the tokens; each RPC answers with the user it acted for, or the error. Keys:
-- spend-<rpc>-<n>.
create temporary table outcome as
select r.rpc, v.n, tests.outcome_as(tests.caller_claims(v.caller, caller.id), format(
    'select public.%s(''chat'', %s, %L, %L) ->> ''user_id''', r.rpc, v.tokens, 'spend-' || r.rpc || '-' || v.n, target.id)) as result
from (values ('record_usage'), ('reserve_tokens')) r(rpc)
cross join (values
  (1, 'anon', null, 'bob', 1),
  (2, 'user', 'alice', null, 1),
  (3, 'user', 'alice', 'alice', 1),
  (4, 'user', 'alice', 'bob', 1),
  (5, 'no sub', null, null, 1),
  (6, 'no sub', null, 'bob', 1),
  (7, 'user_metadata admin', 'mallory', 'bob', 1),
  (8, 'admin', 'admin', null, 1),
  (9, 'admin', 'admin', 'bob', 1),
  (10, 'service', null, 'bob', 5),
  (11, 'service', null, null, 1),
  (12, 'session', null, 'bob', 1),
  (13, 'session', null, null, 1),
  (14, 'user', 'ghost', null, 1),
  (15, 'service', null, 'ghost', 1)) v(n, caller, token_of, names, tokens)
left join spender caller on caller.rpc = r.rpc and caller.who = v.token_of
left join spender target on target.rpc = r.rpc and target.who = v.names
order by r.rpc, v.n;

select results_eq(
  $$select o.rpc, o.n, coalesce(s.who, o.result) from outcome o left join spender s on s.id::text = o.result order by o.rpc, o.n$$,
  $$select r.rpc, e.n, e.expected from (values ('record_usage'), ('reserve_tokens')) r(rpc) cross join (values
      (1, 'error 42501'),  -- anon
      (2, 'alice'),        -- a user, itself (p_user_id null)
      (3, 'alice'),        -- a user, itself (its own id)
      (4, 'error 42501'),  -- a user for another user
      (5, 'error 42501'),  -- a token without sub
      (6, 'error 42501'),  -- a token without sub naming a user
      (7, 'error 42501'),  -- user_metadata claiming admin
      (8, 'admin'),        -- an admin, itself
      (9, 'error 42501'),  -- an admin for another user
      (10, 'bob'),         -- the service, naming the user
      (11, 'error 22023'), -- the service must name the user
      (12, 'bob'),         -- a session that did not switch role acts like the service
      (13, 'error 22023'), -- and must name the user too
      (14, 'error 22023'), -- a user missing from auth.users
      (15, 'error 22023')  -- the service naming a user missing from auth.users
    ) e(n, expected) order by r.rpc, e.n$$,
  'each caller spends for whom the rule allows, for both RPCs');

select results_eq(
  $$select rpc, who, tests.ledger_footprint(id) from spender order by rpc, who$$,
  $$values
    ('record_usage', 'admin', 'balance=99 lots=1 remaining=99 transactions=1 usage=1 used=1'),
    ('record_usage', 'alice', 'balance=98 lots=1 remaining=98 transactions=1 usage=2 used=2'),
    ('record_usage', 'bob', 'balance=94 lots=1 remaining=94 transactions=1 usage=2 used=6'),
    ('record_usage', 'ghost', 'none'),
    ('record_usage', 'mallory', 'none'),
    ('reserve_tokens', 'admin', 'balance=100 lots=1 remaining=100 transactions=1 holds=1 held=1'),
    ('reserve_tokens', 'alice', 'balance=100 lots=1 remaining=100 transactions=1 holds=2 held=2'),
    ('reserve_tokens', 'bob', 'balance=100 lots=1 remaining=100 transactions=1 holds=2 held=6'),
    ('reserve_tokens', 'ghost', 'none'),
    ('reserve_tokens', 'mallory', 'none')$$,
  'only the accepted calls wrote: the service''s 5 and the session''s 1 for bob, nothing for mallory or ghost');

-- Bob retries the key the service used for him (case 10): the first result comes back.
select results_eq(
  $$select s.rpc, tests.outcome_as(tests.user_claims(s.id), format(
      'select public.%s(''chat'', 5, %L) ->> ''replayed''', s.rpc, 'spend-' || s.rpc || '-10'))
      from spender s where s.who = 'bob' order by s.rpc$$,
  $$values ('record_usage', 'true'), ('reserve_tokens', 'true')$$,
  'a key belongs to the user, whoever used it: bob''s retry replays');
select results_eq(
  $$select rpc, tests.ledger_footprint(id) from spender where who = 'bob' order by rpc$$,
  $$values ('record_usage', 'balance=94 lots=1 remaining=94 transactions=1 usage=2 used=6'),
           ('reserve_tokens', 'balance=100 lots=1 remaining=100 transactions=1 holds=2 held=6')$$,
  'the replay wrote nothing');

select * from finish();
rollback;
