-- A key made only of whitespace is no key: 22023 `p_idempotency_key is required` in every RPC
-- that takes a caller's key, whoever calls, and nothing is written. Whitespace is not only the
-- space: tabs, line breaks, no-break, em and ideographic spaces, the line separator and U+FEFF
-- (what a form field or a client's trim() leaves for "empty"). A key with anything visible in
-- it is an ordinary key, spaces around it included.
begin;
select plan(5);

select tests.create_user('ik-blank-alice@example.test', '00000000-0000-4000-c910-000000000001', 1000);
select tests.create_user('ik-blank-admin@example.test', '00000000-0000-4000-c910-000000000002');
select tests.create_pack('c910-pack', 10, 'c910');

create temporary table blank_keys (name text, key text) on commit drop;
insert into blank_keys values
  ('empty', ''), ('spaces', '   '), ('tab', E'\t'), ('newline', E'\n'), ('crlf', E'\r\n'),
  ('vertical tab and form feed', chr(11) || chr(12)), ('mixed', E' \t \n '), ('no-break space', U&'\00A0'),
  ('next line', U&'\0085'), ('em spaces', U&'\2003\2003'), ('line separator', U&'\2028'),
  ('ideographic space', U&'\3000'), ('byte-order mark', U&'\FEFF');
-- each RPC with a caller that may use it; %L is the key
create temporary table key_calls (rpc text, caller text, template text) on commit drop;
insert into key_calls values
  ('record_usage', 'user', 'select public.record_usage(''chat'', 1, %L)::text'),
  ('record_usage', 'service', 'select public.record_usage(''chat'', 1, %L, ''00000000-0000-4000-c910-000000000001'')::text'),
  ('reserve_tokens', 'user', 'select public.reserve_tokens(''chat'', 1, %L)::text'),
  ('reserve_tokens', 'service', 'select public.reserve_tokens(''chat'', 1, %L, ''00000000-0000-4000-c910-000000000001'')::text'),
  ('grant_tokens', 'admin', 'select public.grant_tokens(''00000000-0000-4000-c910-000000000001'', 1, ''admin_grant'', %L)::text'),
  ('record_purchase', 'service', 'select public.record_purchase(''00000000-0000-4000-c910-000000000001'', ''c910-pack'', %L, 100, ''usd'')::text'),
  ('void_grant', 'service', 'select public.void_grant((select id from public.token_transactions where user_id = ''00000000-0000-4000-c910-000000000001''), ''c910'', %L)::text');
-- the caller: alice herself, the admin, or the service
create function pg_temp.claims(p_caller text) returns jsonb language sql as $f$
  select tests.caller_claims(p_caller, case p_caller when 'admin' then '00000000-0000-4000-c910-000000000002'::uuid
                                                     else '00000000-0000-4000-c910-000000000001'::uuid end)
$f$;

select is_empty($$
  select c.rpc, c.caller, k.name, o.outcome
  from key_calls c cross join blank_keys k
  cross join lateral (select tests.outcome_as(pg_temp.claims(c.caller), format(c.template, k.key)) as outcome) o
  where o.outcome is distinct from 'error 22023'$$,
  'every whitespace-only key is 22023 in every RPC, for every caller');
select is(tests.ledger_footprint('00000000-0000-4000-c910-000000000001'), 'balance=1000 lots=1 remaining=1000 transactions=1',
  'and nothing was written');

select tests.authenticate_as('00000000-0000-4000-c910-000000000001');
select throws_ok($$select public.record_usage('chat', 1, E'\t\n')$$, '22023',
  'p_idempotency_key is required: send the same key when you retry the same request.', 'the message is the missing key''s');
select is(tests.error_detail($$select public.reserve_tokens('chat', 1, U&'\3000\00A0')$$),
  'key: 2 character(s), all whitespace', 'and the detail says what was sent');
select tests.clear_authentication();

-- visible characters among whitespace, or a first character outside ASCII: ordinary keys
-- (void_grant left out: a grant is voided once; it checks its key as grant_tokens does)
select is_empty($$
  select c.rpc, c.caller, k.key, o.outcome
  from key_calls c
  cross join (values (E'\tc910 a\n'), (U&'\00A0c910-b'), ('é-c910'), (U&'\3000日本-c910')) k (key)
  -- one key per call: purchases, grants and voids share the transactions' keys
  cross join lateral (select tests.outcome_as(pg_temp.claims(c.caller),
                                              format(c.template, k.key || c.rpc || c.caller)) as outcome) o
  where c.rpc <> 'void_grant' and o.outcome like 'error %'$$,
  'keys with something visible in them are accepted');

select * from finish();
rollback;
