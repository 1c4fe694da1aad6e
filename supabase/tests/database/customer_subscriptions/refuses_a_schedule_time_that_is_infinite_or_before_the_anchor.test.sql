-- The schedule's times are real points on the anchor's grid: drip_anchor must be finite, and
-- next_drip_at finite and not before drip_anchor (23514), whoever writes them. An infinite
-- anchor or next drip would have the drip engine loop or fail the batch; a next drip before
-- the anchor would issue cycles from before the subscription began.
begin;
select plan(7);

select tests.create_user('cs-times@example.test', '00000000-0000-4000-d409-000000000001');
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-d409-0000000000a1', '00000000-0000-4000-d409-000000000001', 'default', 'active', now());

select tests.authenticate_as_service_role();
select is(tests.error_sqlstate(pg_catalog.format('update public.customer_subscriptions set %s where id = %L', c.change,
    '00000000-0000-4000-d409-0000000000a1')), '23514', c.description)
  from (values
    ($$next_drip_at = '-infinity'$$, 'next_drip_at -infinity is refused'),
    ($$next_drip_at = 'infinity'$$, 'next_drip_at infinity is refused'),
    ($$next_drip_at = drip_anchor - interval '1 second'$$, 'next_drip_at before the anchor is refused'),
    ($$drip_anchor = 'infinity'$$, 'drip_anchor infinity is refused')
  ) c(change, description);
select throws_ok(
  $$insert into public.customer_subscriptions (user_id, plan_id, status, drip_anchor)
    values ('00000000-0000-4000-d409-000000000001', 'default', 'active', '-infinity')$$,
  '23514', null, 'a new subscription anchored at -infinity is refused');
select tests.clear_authentication();
select results_eq(
  $$select count(*)::int, min(next_drip_at - drip_anchor) from public.customer_subscriptions where user_id = '00000000-0000-4000-d409-000000000001'$$,
  $$values (1, interval '0')$$, 'nothing changed');
select is(public.run_drip('00000000-0000-4000-d409-0000000000a1', now()) ->> 'cycles_issued', '1',
  'the subscription drips its cycle 1');

select * from finish();
rollback;
