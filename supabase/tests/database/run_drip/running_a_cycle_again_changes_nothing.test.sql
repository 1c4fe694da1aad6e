-- Re-running a cycle changes nothing: the same as-of twice (or an earlier one) issues 0
-- cycles and writes no row; the balance, lots and schedule stay as they were. The unique
-- (subscription, cycle) index backs this up even against a direct insert.
begin;
select plan(10);
set local timezone to 'UTC';

select tests.create_subscriber('rd-rerun@example.test', '00000000-0000-4000-d110-000000000001', '00000000-0000-4000-d110-0000000000a1');

select is((public.run_drip('00000000-0000-4000-d110-0000000000a1', now()) ->> 'cycles_issued')::int, 1, 'the first run issues cycle 1');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-d110-000000000001'), 'next_drip_in=' || (select s.next_drip_at - now() from public.customer_subscriptions s where s.id = '00000000-0000-4000-d110-0000000000a1')), 'balance=375000 lots=1 remaining=375000 drips=1 next_cycle=2 next_drip_in=28 days', 'after cycle 1');
select is(public.run_drip('00000000-0000-4000-d110-0000000000a1', now()) - 'subscription_id',
  '{"cycles_issued": 0, "tokens_dripped": 0, "tokens_expired": 0, "balance_after": 375000}'::jsonb,
  'the same as-of again issues nothing');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-d110-000000000001'), 'next_drip_in=' || (select s.next_drip_at - now() from public.customer_subscriptions s where s.id = '00000000-0000-4000-d110-0000000000a1')), 'balance=375000 lots=1 remaining=375000 drips=1 next_cycle=2 next_drip_in=28 days', 'and writes nothing');

select is((public.run_drip('00000000-0000-4000-d110-0000000000a1', now() + interval '28 days') ->> 'cycles_issued')::int, 1, 'cycle 2');
select is((public.run_drip('00000000-0000-4000-d110-0000000000a1', now() + interval '28 days') ->> 'cycles_issued')::int, 0,
  'cycle 2 again: nothing');
select is((public.run_drip('00000000-0000-4000-d110-0000000000a1', now() + interval '1 day') ->> 'cycles_issued')::int, 0,
  'an earlier as-of: nothing');
select is(concat_ws(' ', tests.ledger_footprint('00000000-0000-4000-d110-000000000001'), 'next_drip_in=' || (select s.next_drip_at - now() from public.customer_subscriptions s where s.id = '00000000-0000-4000-d110-0000000000a1')), 'balance=750000 lots=2 remaining=750000 drips=2 next_cycle=3 next_drip_in=56 days',
  'two cycles, each once');

select throws_ok(
  $$insert into public.token_drips (user_id, subscription_id, drip_amount, cycle_number, balance_before, balance_after,
                                    billing_period_start, billing_period_end)
    values ('00000000-0000-4000-d110-000000000001', '00000000-0000-4000-d110-0000000000a1', 375000, 2, 750000, 1125000,
            now() + interval '28 days', now() + interval '56 days')$$,
  '23505', null, 'a second row for (subscription, cycle 2) is refused by the unique index');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-d110-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
