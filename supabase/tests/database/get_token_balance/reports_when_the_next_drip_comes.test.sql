-- get_token_balance reports next_drip_at: when the user's next drip comes due, the earliest
-- next_drip_at of their subscriptions that drip (active or trialing); null without one. A
-- past_due, canceled or incomplete subscription does not count: its due cycle is skipped or
-- waits. The user reads it for itself; admins and the service for anyone.
begin;
select plan(7);

select tests.create_users('gb-next-drip', '00000000-0000-4000-8403-000000000001', '00000000-0000-4000-8403-000000000002');

select is(public.get_token_balance('00000000-0000-4000-8403-000000000001') -> 'next_drip_at', 'null'::jsonb,
  'without a subscription: null');

insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-8403-0000000000a1', '00000000-0000-4000-8403-000000000001', 'default', 'active', now());
select is((public.get_token_balance('00000000-0000-4000-8403-000000000001') ->> 'next_drip_at')::timestamptz, now(),
  'a new active subscription: its first drip is due at its anchor');

select public.run_drip('00000000-0000-4000-8403-0000000000a1', now());
select is((public.get_token_balance('00000000-0000-4000-8403-000000000001') ->> 'next_drip_at')::timestamptz,
  now() + interval '28 days', 'after cycle 1: the start of cycle 2, 28 days later');

-- A second subscription that drips sooner counts; past_due and incomplete ones do not.
insert into public.customer_subscriptions (id, user_id, plan_id, status, drip_anchor) values
  ('00000000-0000-4000-8403-0000000000a2', '00000000-0000-4000-8403-000000000001', 'default', 'past_due', now() + interval '1 day'),
  ('00000000-0000-4000-8403-0000000000a3', '00000000-0000-4000-8403-000000000001', 'default', 'incomplete', now() + interval '2 days'),
  ('00000000-0000-4000-8403-0000000000a4', '00000000-0000-4000-8403-000000000001', 'default', 'trialing', now() + interval '10 days');
select is((public.get_token_balance('00000000-0000-4000-8403-000000000001') ->> 'next_drip_at')::timestamptz,
  now() + interval '10 days', 'the earliest of the subscriptions that drip (the trialing one), not the past_due or incomplete ones');

select tests.authenticate_as('00000000-0000-4000-8403-000000000001');
select is((public.get_token_balance() ->> 'next_drip_at')::timestamptz, now() + interval '10 days',
  'the user reads it for itself');
select tests.authenticate_as('00000000-0000-4000-8403-000000000002');
select is(public.get_token_balance() -> 'next_drip_at', 'null'::jsonb, 'another user sees only its own: null');
select tests.clear_authentication();

update public.customer_subscriptions set status = 'canceled'
 where user_id = '00000000-0000-4000-8403-000000000001';
select is(public.get_token_balance('00000000-0000-4000-8403-000000000001') -> 'next_drip_at', 'null'::jsonb,
  'once every subscription is canceled: null');

select * from finish();
rollback;
