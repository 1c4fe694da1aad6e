-- A Stripe subscription id names one user across the ledger. customer_subscriptions is keyed by
-- user (its Stripe id is unique per (user_id, stripe_subscription_id), docs/scaling.md), so the
-- global directory public.stripe_subscriptions, kept by a trigger whoever writes the table,
-- holds each id for one user: another user's row naming it is refused (23505) and nothing is
-- written; nulling the id or deleting the row frees it. The webhook resolves a subscription's
-- user there first: an event whose metadata names someone else updates the owner's row.
begin;
select plan(9);

select tests.create_user(u.email, u.id::uuid) from (values
  ('00000000-0000-4000-d411-000000000001', 'sdir-owner@example.test'),
  ('00000000-0000-4000-d411-000000000002', 'sdir-other@example.test')
) u (id, email);
insert into public.subscription_plans (id, stripe_price_id, name, drip_tokens)
values ('sdir_plan', 'price_sdir', 'Directory test plan', 1000);

select tests.authenticate_as_service_role();
insert into public.customer_subscriptions (id, user_id, stripe_subscription_id, plan_id, status, drip_anchor)
values ('00000000-0000-4000-d411-0000000000a1', '00000000-0000-4000-d411-000000000001', 'sub_sdir_1', 'sdir_plan',
        'active', now());
select tests.clear_authentication();
select is((select user_id from public.stripe_subscriptions where stripe_subscription_id = 'sub_sdir_1'),
  '00000000-0000-4000-d411-000000000001'::uuid, 'the directory names the user of a subscription the service wrote');

select tests.authenticate_as_service_role();
select throws_ok(
  $$insert into public.customer_subscriptions (user_id, stripe_subscription_id, plan_id, status)
    values ('00000000-0000-4000-d411-000000000002', 'sub_sdir_1', 'sdir_plan', 'active')$$,
  '23505', 'Stripe subscription sub_sdir_1 belongs to another user.', 'another user''s row naming it is refused');
select tests.clear_authentication();
select is(tests.error_detail($$insert into public.customer_subscriptions (user_id, stripe_subscription_id, plan_id, status)
    values ('00000000-0000-4000-d411-000000000002', 'sub_sdir_1', 'sdir_plan', 'active')$$),
  'recorded for user 00000000-0000-4000-d411-000000000001; this row names user 00000000-0000-4000-d411-000000000002',
  'the error names both users');
select is((select count(*)::int from public.customer_subscriptions where user_id = '00000000-0000-4000-d411-000000000002'),
  0, 'nothing was written for the other user');

-- The webhook: an event of the subscription naming the other user updates the owner's row.
select is(public.handle_stripe_event(tests.stripe_event('evt_sdir_updated', 'customer.subscription.updated', $${
    "id": "sub_sdir_1", "object": "subscription", "customer": "cus_sdir_1", "status": "past_due",
    "metadata": {"user_id": "00000000-0000-4000-d411-000000000002"}, "start_date": 1767225600,
    "items": {"data": [{"price": {"id": "price_sdir"}, "current_period_start": 1767225600, "current_period_end": 1769904000}]}
  }$$::jsonb, 1767225700)) #>> '{result,user_id}',
  '00000000-0000-4000-d411-000000000001', 'a subscription event resolves the owner through the directory');
select results_eq(
  $$select user_id, status from public.customer_subscriptions where stripe_subscription_id = 'sub_sdir_1'$$,
  $$values ('00000000-0000-4000-d411-000000000001'::uuid, 'past_due'::text)$$,
  'the owner''s row took the event; no row for the user its metadata named');

-- Nulling the id frees it for a new subscription of the other user (docs/api.md); deleting too.
update public.customer_subscriptions set stripe_subscription_id = null where id = '00000000-0000-4000-d411-0000000000a1';
insert into public.customer_subscriptions (id, user_id, stripe_subscription_id, plan_id, status)
values ('00000000-0000-4000-d411-0000000000a2', '00000000-0000-4000-d411-000000000002', 'sub_sdir_1', 'sdir_plan', 'active');
select is((select user_id from public.stripe_subscriptions where stripe_subscription_id = 'sub_sdir_1'),
  '00000000-0000-4000-d411-000000000002'::uuid, 'a freed id can be taken by another user''s subscription');
delete from public.customer_subscriptions where id = '00000000-0000-4000-d411-0000000000a2';
select is_empty($$select 1 from public.stripe_subscriptions where stripe_subscription_id = 'sub_sdir_1'$$,
  'deleting the subscription frees its id');
select is_empty($$select 1 from public.stripe_subscriptions d
                   where not exists (select 1 from public.customer_subscriptions s
                                      where s.user_id = d.user_id and s.stripe_subscription_id = d.stripe_subscription_id)$$,
  'every directory row names a subscription of its user');

select * from finish();
rollback;
