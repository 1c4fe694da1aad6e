-- Who may credit tokens, checked for grant_tokens and record_purchase from one table:
--   * grant_tokens (grants and deductions): the service and admins (app_metadata.role =
--     admin), for anyone, an admin for itself too; the transaction names the admin as actor,
--     the service's names none;
--   * record_purchase (the Stripe webhook's): the service only; an admin is a signed-in user and
--     is refused, for a user or for itself;
--   * anon (no EXECUTE on either), anon claiming admin in app_metadata, a signed-in user (for
--     itself or others) and user_metadata.role = admin (written by the user) get 42501, and the
--     refused calls write nothing.
begin;
select plan(6);

create temporary table person (who text primary key, id uuid);
insert into person values ('alice', '00000000-0000-4000-8205-000000000001'), ('bob', '00000000-0000-4000-8205-000000000002'),
  ('admin', '00000000-0000-4000-8205-000000000003'), ('mallory', '00000000-0000-4000-8205-000000000004');
select tests.create_user(format('credit-roles-%s@example.test', who), id) from person;
select tests.create_pack('credit-roles-pack', 100);

select results_eq(
  $$select rpc, has_function_privilege('anon', sig, 'execute'), has_function_privilege('authenticated', sig, 'execute')
      from (values ('grant_tokens', 'public.grant_tokens(uuid, bigint, text, text, text, timestamptz, jsonb)'),
        ('record_purchase', 'public.record_purchase(uuid, text, text, bigint, text, text, text, text, text, jsonb)')) f(rpc, sig)
      order by rpc$$,
  $$values ('grant_tokens', false, true), ('record_purchase', false, false)$$,
  'anon has no EXECUTE on either; signed-in users (admins among them) only on grant_tokens');

-- Call n: what (a grant, a deduction, a trial grant, a purchase of credit-roles-pack), by whom
-- (a kind of caller, and whose token it is), for whom, how many tokens. The answer is the
-- balance after, or the error. Keys: credit-roles-<n>.
create function pg_temp.credit(p_from int, p_to int)
returns table (n int, result text) language sql as $f$
  select c.n, tests.outcome_as(tests.caller_claims(c.caller, caller.id), case c.op
      when 'purchase' then format('select public.record_purchase(%L, ''credit-roles-pack'', %L, 100, ''usd'') ->> ''balance_after''',
        target.id, 'credit-roles-' || c.n)
      when 'trial' then format('select public.grant_tokens(%L, %s, ''trial_grant'', %L, null, now() + interval ''7 days'') ->> ''balance_after''',
        target.id, c.tokens, 'credit-roles-' || c.n)
      else format('select public.grant_tokens(%L, %s, %L, %L) ->> ''balance_after''',
        target.id, c.tokens, case c.op when 'grant' then 'admin_grant' else 'admin_deduction' end, 'credit-roles-' || c.n)
    end)
  from (values
    (1, 'grant', 'anon', null, 'bob', 1),
    (2, 'purchase', 'anon', null, 'alice', null),
    (3, 'grant', 'anon claiming admin', null, 'bob', 1),
    (4, 'grant', 'user', 'alice', 'alice', 1),
    (5, 'grant', 'user', 'alice', 'bob', 1),
    (6, 'deduct', 'user', 'alice', 'bob', 1),
    (7, 'purchase', 'user', 'alice', 'alice', null),
    (8, 'grant', 'user_metadata admin', 'mallory', 'mallory', 1000),
    (9, 'grant', 'user_metadata admin', 'mallory', 'bob', 1),
    (10, 'purchase', 'user_metadata admin', 'alice', 'alice', null),
    (11, 'purchase', 'admin', 'admin', 'alice', null),
    (12, 'purchase', 'admin', 'admin', 'admin', null),
    (13, 'grant', 'admin', 'admin', 'bob', 40),
    (14, 'deduct', 'admin', 'admin', 'bob', 15),
    (15, 'grant', 'admin', 'admin', 'admin', 5),
    (16, 'trial', 'service', null, 'alice', 7),
    (17, 'purchase', 'service', null, 'alice', null)) c(n, op, caller, token_of, for_whom, tokens)
  left join person caller on caller.who = c.token_of
  join person target on target.who = c.for_whom
  where c.n between p_from and p_to
  order by c.n
$f$;

select results_eq(
  $$select * from pg_temp.credit(1, 12)$$,
  $$select n, 'error 42501' from generate_series(1, 12) n$$,
  'anon (claiming admin or not), users for themselves or others (user_metadata admin too), and admins recording purchases: 42501');
select results_eq(
  $$select who, tests.ledger_footprint(id) from person order by who$$,
  $$values ('admin', 'none'), ('alice', 'none'), ('bob', 'none'), ('mallory', 'none')$$,
  'the refused calls wrote nothing');
select results_eq(
  $$select * from pg_temp.credit(13, 17)$$,
  $$values (13, '40'), (14, '25'), (15, '5'), (16, '7'), (17, '107')$$,
  'an admin grants and deducts for another user and grants itself; the service grants and records purchases');
select results_eq(
  $$select idempotency_key, source, actor_id from public.token_transactions where idempotency_key in ('credit-roles-13', 'credit-roles-16')
      order by idempotency_key$$,
  $$values ('credit-roles-13', 'admin'::text, '00000000-0000-4000-8205-000000000003'::uuid), ('credit-roles-16', 'service', null)$$,
  'an admin''s grant records source admin and the admin as actor; the service''s, source service and no actor');
select results_eq(
  $$select who, tests.ledger_footprint(id) from person order by who$$,
  $$values ('admin', 'balance=5 lots=1 remaining=5 transactions=1'),
           ('alice', 'balance=107 lots=2 remaining=107 transactions=2'),
           ('bob', 'balance=25 lots=1 remaining=25 transactions=2'),
           ('mallory', 'none')$$,
  'each accepted call wrote once');

select * from finish();
rollback;
