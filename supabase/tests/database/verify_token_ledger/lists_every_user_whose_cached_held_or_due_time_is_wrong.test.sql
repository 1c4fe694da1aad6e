-- verify_token_ledger also checks what the balance row caches for the fast path of a spend:
-- held must be the tokens of the user's holds marked held, and next_due_at must not be later
-- than the earliest moment something of the user falls due (it may be earlier). Drift is made
-- by hand, as a superuser writing state around the RPCs.
begin;
select plan(4);

select tests.create_user('vl-cache-alice@example.test', '00000000-0000-4000-8503-000000000001', 100);
select tests.create_user('vl-cache-bob@example.test', '00000000-0000-4000-8503-000000000002', 100);
select tests.create_user('vl-cache-carol@example.test', '00000000-0000-4000-8503-000000000003', 100);
select public.reserve_tokens('chat', 30, 'vl-cache-a', '00000000-0000-4000-8503-000000000001');
select public.grant_tokens('00000000-0000-4000-8503-000000000002', 50, 'trial_grant', 'vl-cache-b',
                           p_expires_at => now() + interval '1 hour');
select public.record_usage('chat', 1, 'vl-cache-c', '00000000-0000-4000-8503-000000000003');

select is_empty($$select v.* from unnest(array['00000000-0000-4000-8503-000000000001', '00000000-0000-4000-8503-000000000002',
                                    '00000000-0000-4000-8503-000000000003']::uuid[]) u,
                  lateral public.verify_token_ledger(u) v$$,
  'after the RPCs, held and next_due_at are what the holds, lots and subscriptions say');

-- alice: held edited by hand; bob: the lot's expiry is an hour away but the row says never
update public.token_balances set held = 10 where user_id = '00000000-0000-4000-8503-000000000001';
update public.token_balances set next_due_at = 'infinity' where user_id = '00000000-0000-4000-8503-000000000002';
-- carol: an earlier due time than needed is no drift (the next spend takes the full path)
update public.token_balances set next_due_at = '-infinity' where user_id = '00000000-0000-4000-8503-000000000003';

select results_eq(
  $$select stored_held, holds_held from public.verify_token_ledger('00000000-0000-4000-8503-000000000001')$$,
  $$values (10::bigint, 30::bigint)$$, 'a held total that is not the holds'' is reported');
select results_eq(
  $$select stored_next_due_at, next_due - now() from public.verify_token_ledger('00000000-0000-4000-8503-000000000002')$$,
  $$values ('infinity'::timestamptz, interval '1 hour')$$, 'a due time later than the lot''s expiry is reported');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-8503-000000000003')$$,
  'a due time earlier than needed is not');

select * from finish();
rollback;
