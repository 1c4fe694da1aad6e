-- Who may read whose ledger, one rule for get_token_statement and get_token_balance_at,
-- checked for both from one table: a signed-in user reads their own (p_user_id null or their
-- own id), never another user's (42501); an admin reads anyone's; the service reads anyone's
-- but must name the user (22023); anon has no EXECUTE (42501). What is read is the named
-- user's: alice's grant and usage (two statement entries, a balance of 70), nothing for bob.
begin;
select plan(2);

create temporary table person (who text primary key, id uuid);
insert into person values ('alice', '00000000-0000-4000-8b01-000000000001'), ('bob', '00000000-0000-4000-8b01-000000000002'),
  ('admin', '00000000-0000-4000-8b01-000000000003');
select tests.create_user(format('read-roles-%s@example.test', who), id) from person;
select public.grant_tokens('00000000-0000-4000-8b01-000000000001', 100, 'admin_grant', 'read-roles-g1');
select public.record_usage('chat', 30, 'read-roles-u1', '00000000-0000-4000-8b01-000000000001');

select results_eq(
  $$select rpc, has_function_privilege('anon', sig, 'execute') from (values
      ('get_token_balance_at', 'public.get_token_balance_at(timestamptz, uuid)'),
      ('get_token_statement', 'public.get_token_statement(uuid, timestamptz, timestamptz, integer, text)')) f(rpc, sig)
      order by rpc$$,
  $$values ('get_token_balance_at', false), ('get_token_statement', false)$$,
  'anon has no EXECUTE on either');

-- Case n: who reads (a kind of caller, and whose token it is) and whose ledger they name (null:
-- none). Each RPC answers whose ledger it read and what it saw (statement entries, balance a
-- second from now), or the error.
select results_eq(
  $$select r.rpc, c.n, coalesce(reader.who || ':' || split_part(o.result, ':', 2), o.result)
      from (values ('get_token_balance_at'), ('get_token_statement')) r(rpc)
      cross join (values (1, 'anon', null, 'alice'), (2, 'user', 'alice', null), (3, 'user', 'alice', 'alice'),
        (4, 'user', 'bob', 'alice'), (5, 'user', 'bob', null), (6, 'admin', 'admin', 'alice'),
        (7, 'service', null, null), (8, 'service', null, 'alice')) c(n, caller, token_of, names)
      left join person caller on caller.who = c.token_of
      left join person target on target.who = c.names
      cross join lateral (select tests.outcome_as(tests.caller_claims(c.caller, caller.id), case r.rpc
          when 'get_token_statement' then format(
            'select s ->> ''user_id'' || '':'' || jsonb_array_length(s -> ''entries'') from public.get_token_statement(%L) s', target.id)
          else format(
            'select b ->> ''user_id'' || '':'' || (b ->> ''balance'') from public.get_token_balance_at(now() + interval ''1 second'', %L) b',
            target.id)
        end) as result) o
      left join person reader on reader.id::text = split_part(o.result, ':', 1)
      order by r.rpc, c.n$$,
  $$select r.rpc, e.n, case r.rpc when 'get_token_statement' then e.statement else e.balance end
      from (values ('get_token_balance_at'), ('get_token_statement')) r(rpc)
      cross join (values
        (1, 'error 42501', 'error 42501'),  -- anon
        (2, 'alice:2', 'alice:70'),         -- alice, her own (p_user_id null)
        (3, 'alice:2', 'alice:70'),         -- alice naming herself
        (4, 'error 42501', 'error 42501'),  -- bob naming alice
        (5, 'bob:0', 'bob:0'),              -- bob, his own: empty
        (6, 'alice:2', 'alice:70'),         -- an admin reads alice's
        (7, 'error 22023', 'error 22023'),  -- the service must name the user
        (8, 'alice:2', 'alice:70')          -- the service reads alice's
      ) e(n, statement, balance)
      order by r.rpc, e.n$$,
  'each caller reads whose ledger the rule allows, for both RPCs');

select * from finish();
rollback;
