-- A released hold cannot be settled (22023: reserve again), and the refusal writes nothing.
begin;
select plan(6);

create function pg_temp.footprint(p_user uuid) returns text language sql as $f$
  select format('usage=%s balance=%s statuses=%s',
    (select count(*) from public.token_usage u where u.user_id = p_user),
    (select b.balance from public.token_balances b where b.user_id = p_user),
    (select string_agg(h.idempotency_key || ':' || h.status || ':' || coalesce(h.tokens_used::text, '-'), ',' order by h.idempotency_key)
       from public.token_holds h where h.user_id = p_user))
$f$;

insert into auth.users (id, email) values ('00000000-0000-4000-b208-000000000001', 'sh-released-alice@example.test');
select public.grant_tokens('00000000-0000-4000-b208-000000000001', 100, 'admin_grant', 'sh-released-grant');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b208-000000000001","role":"authenticated"}', true);
select set_config('test.h1', public.reserve_tokens('chat', 40, 'h1') ->> 'hold_id', true);
select public.release_hold(current_setting('test.h1')::uuid);
select throws_ok($$select public.settle_hold(current_setting('test.h1')::uuid, 10)$$, '22023',
  'This hold was released; reserve again.', 'a released hold cannot be settled');
select throws_ok($$select public.settle_hold(current_setting('test.h1')::uuid, 0)$$, '22023', null,
  'not even with zero tokens');
reset role;
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select throws_ok($$select public.settle_hold(current_setting('test.h1')::uuid, 10)$$, '22023', null,
  'not by the service either');
reset role;

-- a lapsed hold that was released is released too
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b208-000000000001","role":"authenticated"}', true);
select set_config('test.h2', public.reserve_tokens('chat', 40, 'h2') ->> 'hold_id', true);
reset role;
update public.token_holds set expires_at = now() - interval '1 second' where id = current_setting('test.h2')::uuid;
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"00000000-0000-4000-b208-000000000001","role":"authenticated"}', true);
select public.release_hold(current_setting('test.h2')::uuid);
select throws_ok($$select public.settle_hold(current_setting('test.h2')::uuid, 10)$$, '22023', null,
  'a lapsed hold, once released, cannot be settled');
reset role;

select is(pg_temp.footprint('00000000-0000-4000-b208-000000000001'), 'usage=0 balance=100 statuses=h1:released:0,h2:released:0',
  'nothing was written: no usage, the holds stay released');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b208-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
