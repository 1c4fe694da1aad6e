-- Every function that takes an as-of time (run_drip, run_due_drips, expire_tokens,
-- expire_holds) takes it within 366 days of now(), either way: `infinity`, `-infinity`, year
-- 294276 or ten years on are 22023 and write nothing (a far as-of would loop to the statement
-- timeout or issue years of future cycles). The bounds themselves are accepted.
begin;
select plan(5);
-- a safety net for code without the bound: an endless drip loop fails instead of hanging
set local statement_timeout = '10s';

select tests.create_user('as-of-alice@example.test', '00000000-0000-4000-c905-000000000001');
-- canceled: nothing to drip whatever the as-of, so only the bound decides
select tests.create_subscription('00000000-0000-4000-c905-0000000000a1', '00000000-0000-4000-c905-000000000001', 'default', 'canceled');

create temporary table calls (fn text, template text) on commit drop;
insert into calls values
  ('run_drip', 'select public.run_drip(''00000000-0000-4000-c905-0000000000a1'', %L::timestamptz)'),
  ('run_due_drips', 'select public.run_due_drips(%L::timestamptz, 10)'),
  ('expire_tokens', 'select public.expire_tokens(%L::timestamptz)'),
  ('expire_holds', 'select public.expire_holds(%L::timestamptz)');
grant select on calls to service_role;

select tests.authenticate_as_service_role();
select is_empty(
  $$select c.fn, b.label, tests.error_sqlstate(format(c.template, b.at)) as state
    from calls c
    cross join (values ('infinity', 'infinity'::timestamptz), ('-infinity', '-infinity'),
                       ('year 294276', '294276-12-31 23:59:59+00'), ('now + 10 years', now() + interval '10 years'),
                       ('now + 367 days', now() + interval '367 days'), ('now - 367 days', now() - interval '367 days')) b (label, at)
    where tests.error_sqlstate(format(c.template, b.at)) is distinct from '22023'$$,
  'every as-of function refuses infinity, -infinity, year 294276 and more than 366 days either way with 22023');
select throws_ok($$select public.run_drip('00000000-0000-4000-c905-0000000000a1', 'infinity')$$, '22023',
  'p_as_of must be within 366 days of now().', 'the message names the bound');
select is_empty(
  $$select c.fn, b.label, tests.error_sqlstate(format(c.template, b.at)) as state
    from calls c
    cross join (values ('now + 366 days', now() + interval '366 days'), ('now - 366 days', now() - interval '366 days'),
                       ('now', now())) b (label, at)
    where tests.error_sqlstate(format(c.template, b.at)) is not null$$,
  'the bounds themselves and now() are accepted');
select is(public.run_drip('00000000-0000-4000-c905-0000000000a1') ->> 'cycles_issued', '0', 'the default as-of (now) works');
select tests.clear_authentication();

select is(tests.ledger_footprint('00000000-0000-4000-c905-000000000001'), 'balance=0 next_cycle=1', 'nothing was written');

select * from finish();
rollback;
