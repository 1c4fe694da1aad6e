-- The product's tables had `primary key (id)` and token_drips a foreign key on subscription_id
-- alone; the upgrade keys them by user in place (docs/scaling.md, docs/upgrade.md): primary
-- keys (user_id, id), the drip's link on (user_id, subscription_id), rows and ids kept (every
-- legacy row's values: every_legacy_row_is_kept_with_its_values). The link still holds every
-- legacy drip, and deleting a subscription still leaves its drips with subscription_id null.
begin;
select plan(6);

select results_eq(
  $$select c.conrelid::regclass::text, pg_get_constraintdef(c.oid) from pg_constraint c
     where c.contype = 'p' and c.conrelid in ('public.token_transactions'::regclass, 'public.token_drips'::regclass,
                                             'public.customer_subscriptions'::regclass)
     order by 1$$,
  $$values ('customer_subscriptions', 'PRIMARY KEY (user_id, id)'), ('token_drips', 'PRIMARY KEY (user_id, id)'),
           ('token_transactions', 'PRIMARY KEY (user_id, id)')$$,
  'the legacy tables'' primary keys are (user_id, id)');
select is((select pg_get_constraintdef(c.oid) from pg_constraint c
            where c.conrelid = 'public.token_drips'::regclass and c.contype = 'f'
              and c.confrelid = 'public.customer_subscriptions'::regclass),
  'FOREIGN KEY (user_id, subscription_id) REFERENCES customer_subscriptions(user_id, id) ON DELETE SET NULL (subscription_id)',
  'a drip''s link to its subscription joins on user_id');
select set_eq($$select id, subscription_id from public.token_drips where is_legacy and subscription_id is not null$$,
  $$select id, subscription_id from legacy_snapshot.token_drips where subscription_id is not null$$,
  'the legacy drips keep their subscriptions');
select is((select count(*)::int from pg_constraint c where c.conrelid = 'public.token_drips'::regclass and c.contype = 'f'
             and c.confrelid = 'public.customer_subscriptions'::regclass and c.convalidated), 1,
  'the link is validated over the legacy rows');

-- Grace's subscription goes: her drips stay, with no subscription (the seed's ON DELETE SET NULL).
delete from public.customer_subscriptions where id = '57000000-0000-4000-8000-000000000007';
select is((select count(*)::int from public.token_drips where user_id = '70000000-0000-4000-8000-000000000007'), 2,
  'deleting a subscription keeps its drips');
select is_empty($$select 1 from public.token_drips where subscription_id = '57000000-0000-4000-8000-000000000007'$$,
  'and they no longer name it');

select * from finish();
rollback;
