-- Keys the ledger writes itself start with a reserved prefix (checkout:, invoice:, stripe:,
-- expiration:, opening_balance:, signup:, hold:, void:, legacy:). A caller's key with one of
-- them is 22023 in every RPC that takes a key (record_usage, reserve_tokens, grant_tokens,
-- record_purchase, void_grant), whoever calls, and nothing is written; so a caller can never take a key
-- the webhook or the sweeps will need. Keys that only look alike are the caller's to use.
begin;
select plan(5);

select tests.create_user('ik-reserved-alice@example.test', '00000000-0000-4000-c909-000000000001');
select tests.create_user('ik-reserved-admin@example.test', '00000000-0000-4000-c909-000000000002');
insert into public.token_packs (id, tokens) values ('c909-pack', 10);
select public.grant_tokens('00000000-0000-4000-c909-000000000001', 1000, 'admin_grant', 'c909-grant');
select set_config('test.c909_grant', (select id::text from public.token_transactions where idempotency_key = 'c909-grant'), true);

create temporary table prefixes (prefix text) on commit drop;
insert into prefixes values ('checkout:'), ('invoice:'), ('stripe:'), ('expiration:'), ('opening_balance:'),
  ('signup:'), ('hold:'), ('void:'), ('legacy:');
-- each RPC with the callers that may use it; %L is the key
create temporary table calls (rpc text, caller text, template text) on commit drop;
insert into calls values
  ('record_usage', 'user', 'select public.record_usage(''chat'', 1, %L)'),
  ('reserve_tokens', 'user', 'select public.reserve_tokens(''chat'', 1, %L)'),
  ('record_usage', 'service', 'select public.record_usage(''chat'', 1, %L, ''00000000-0000-4000-c909-000000000001'')'),
  ('reserve_tokens', 'service', 'select public.reserve_tokens(''chat'', 1, %L, ''00000000-0000-4000-c909-000000000001'')'),
  ('grant_tokens', 'service', 'select public.grant_tokens(''00000000-0000-4000-c909-000000000001'', 1, ''admin_grant'', %L)'),
  ('grant_tokens', 'admin', 'select public.grant_tokens(''00000000-0000-4000-c909-000000000001'', 1, ''admin_grant'', %L)'),
  ('record_purchase', 'service', 'select public.record_purchase(''00000000-0000-4000-c909-000000000001'', ''c909-pack'', %L, 100, ''usd'')'),
  ('void_grant', 'service', 'select public.void_grant(current_setting(''test.c909_grant'')::uuid, ''c909'', %L)'),
  ('void_grant', 'admin', 'select public.void_grant(current_setting(''test.c909_grant'')::uuid, ''c909'', %L)');

-- Every call with a key made from each prefix by p_key_expr, as the caller the call names;
-- returns the calls whose SQLSTATE (null: no error) is not p_expected. tests.error_sqlstate
-- undoes every call, so the keys never collide.
create function pg_temp.unexpected(p_key_expr text, p_expected text)
returns table (caller text, rpc text, key text, state text) language plpgsql as $f$
declare
  v_call record;
begin
  for v_call in
    execute format('select c.caller, c.rpc, c.template, %s as key from calls c cross join prefixes order by 1, 2, 4', p_key_expr)
  loop
    perform case v_call.caller
      when 'user' then tests.authenticate_as('00000000-0000-4000-c909-000000000001')
      when 'admin' then tests.authenticate_as_admin('00000000-0000-4000-c909-000000000002')
      else tests.authenticate_as_service_role() end;
    state := tests.error_sqlstate(format(v_call.template, v_call.key));
    perform tests.clear_authentication();
    if state is distinct from p_expected then
      caller := v_call.caller;
      rpc := v_call.rpc;
      key := v_call.key;
      return next;
    end if;
  end loop;
end;
$f$;

select is_empty($$select * from pg_temp.unexpected('prefix || ''c909''', '22023')$$,
  'every reserved prefix is 22023 in every RPC, for every caller');
select is(tests.ledger_footprint('00000000-0000-4000-c909-000000000001'), 'balance=1000 lots=1 remaining=1000 transactions=1',
  'and nothing was written');
select tests.authenticate_as_service_role();
select throws_ok($$select public.grant_tokens('00000000-0000-4000-c909-000000000001', 1, 'admin_grant', 'checkout:cs_test_c909')$$,
  '22023', 'p_idempotency_key may not start with checkout:, invoice:, stripe:, expiration:, opening_balance:, signup:, hold:, void: or legacy: (the ledger''s own keys).',
  'the message lists the reserved prefixes');
select is(tests.error_hint($$select public.grant_tokens('00000000-0000-4000-c909-000000000001', 1, 'admin_grant', 'hold:1')$$),
  'Use a key of your own, e.g. named after your feature and operation: chat:<message id>.', 'and the hint says what to use');
select tests.clear_authentication();

-- look-alikes are ordinary keys: another case, the prefix inside the key, no colon
select is_empty($$
  select * from pg_temp.unexpected('upper(prefix) || ''c909''', null)
  union all select * from pg_temp.unexpected('''my-'' || prefix || ''c909''', null)
  union all select * from pg_temp.unexpected('rtrim(prefix, '':'') || ''-c909''', null)$$,
  'keys that only look like a reserved prefix are accepted');

select * from finish();
rollback;
