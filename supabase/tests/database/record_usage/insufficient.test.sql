-- record_usage refuses to spend more than the balance: PT402 with the balance and the
-- requirement in the detail, and nothing is written.
begin;
select plan(12);

create function pg_temp.error_detail(p_sql text) returns text language plpgsql as $f$
declare
  v_detail text;
begin
  execute p_sql;
  return null;
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail;
  return v_detail;
end
$f$;
-- What a call may have written for a user: row counts and the stored balance.
create function pg_temp.footprint(p_user uuid) returns text language sql as $f$
  select format('usage=%s transactions=%s lots=%s balances=%s balance=%s remaining=%s',
    (select count(*) from public.token_usage u where u.user_id = p_user),
    (select count(*) from public.token_transactions t where t.user_id = p_user),
    (select count(*) from public.token_lots l where l.user_id = p_user),
    (select count(*) from public.token_balances b where b.user_id = p_user),
    (select b.balance from public.token_balances b where b.user_id = p_user),
    (select sum(l.remaining) from public.token_lots l where l.user_id = p_user))
$f$;

insert into auth.users (id, email) values
  ('00000000-0000-4000-8104-000000000001', 'ru-402-alice@example.test'),
  ('00000000-0000-4000-8104-000000000002', 'ru-402-bob@example.test');
select public.grant_tokens('00000000-0000-4000-8104-000000000001', 10, 'admin_grant', 'ru-402-grant');

-- alice has 10 and asks for 11
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8104-000000000001","role":"authenticated"}', true);
select throws_ok($$select public.record_usage('chat', 11, 'ru-402-a1')$$, 'PT402', 'Insufficient tokens.',
  'one token more than the balance is refused');
select is(pg_temp.error_detail($$select public.record_usage('chat', 11, 'ru-402-a1')$$),
  'balance: 10, required: 11', 'the detail gives the balance and the requirement');
select throws_ok($$select public.record_usage('chat', 1000000000000000, 'ru-402-a2')$$, 'PT402', 'Insufficient tokens.',
  'the largest request is refused the same way');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8104-000000000001'),
  'usage=0 transactions=1 lots=1 balances=1 balance=10 remaining=10', 'nothing was written for alice');

-- the key of a refused request is not used up: the same key works once there are tokens
select public.grant_tokens('00000000-0000-4000-8104-000000000001', 1, 'admin_grant', 'ru-402-grant-2');
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8104-000000000001","role":"authenticated"}', true);
select is(public.record_usage('chat', 11, 'ru-402-a1') -> 'replayed', 'false'::jsonb,
  'a key refused for lack of tokens is free for the retry');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8104-000000000001'),
  'usage=1 transactions=2 lots=2 balances=1 balance=0 remaining=0', 'the retry spent the tokens');

-- bob never had tokens: no balance row yet
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-8104-000000000002","role":"authenticated"}', true);
select throws_ok($$select public.record_usage('chat', 1, 'ru-402-b1')$$, 'PT402', 'Insufficient tokens.',
  'a user without tokens cannot spend one');
select is(pg_temp.error_detail($$select public.record_usage('chat', 1, 'ru-402-b1')$$),
  'balance: 0, required: 1', 'the detail says the balance is 0');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8104-000000000002'),
  'usage=0 transactions=0 lots=0 balances=0 balance= remaining=', 'nothing was written for bob, not even a balance row');

-- the service is held to the balance too
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select throws_ok($$select public.record_usage('chat', 1, 'ru-402-s1', '00000000-0000-4000-8104-000000000001')$$,
  'PT402', 'Insufficient tokens.', 'the service cannot spend more than the balance either');
select is(pg_temp.error_detail($$select public.record_usage('chat', 1, 'ru-402-s1', '00000000-0000-4000-8104-000000000001')$$),
  'balance: 0, required: 1', 'with the same detail');
reset role;
select is(pg_temp.footprint('00000000-0000-4000-8104-000000000001'),
  'usage=1 transactions=2 lots=2 balances=1 balance=0 remaining=0', 'nothing more was written for alice');

select * from finish();
rollback;
