-- Carry each legacy user's balance into the ledger as `opening_balance` transactions, its
-- drip tokens with the expiry the drip rules give them, and continue each legacy
-- subscription's 28-day schedule from its last legacy cycle.
--
-- The legacy tables recorded balances but never enforced them, so their rows are kept as
-- they are (is_legacy) and left out of the ledger's arithmetic. A user's legacy balance is
-- the balance_after of their most recent legacy row in token_transactions or token_drips
-- (token_usage had no balance columns). Every user with any legacy row gets an opening
-- balance, zero included, so verify_token_ledger() is clean right after the upgrade.
-- A negative legacy balance becomes debt. On an empty database this does nothing.
--
-- Drip tokens (the product's rules: 375,000 every 28 days, rolling over one cycle, then
-- expiring). The user's latest dated legacy drip, cycle n starting at S, left two kinds of
-- drip tokens: its own drip (expiring when cycle n + 1 ends, S + 56 days) and what it carried
-- over from cycle n - 1 (rollover_from_previous, expiring when cycle n ends, S + 28 days).
-- Spending takes the soonest-expiring tokens first, so of the balance the user still has,
-- the tokens bought or granted are what survives longest. The balance is carried as up to
-- three opening_balance transactions, one lot each (as every credit):
--   opening_balance:<user>           permanent: up to what was not drip tokens at that drip
--                                    (balance_after - drip_amount - rollover_from_previous)
--                                    plus the legacy credits after it, and anything left over
--                                    (legacy rows need not add up); always written (0, or a
--                                    negative balance as debt, included)
--   opening_balance:<user>:drip      cycle n's drip (up to drip_amount), expiring S + 56 days
--   opening_balance:<user>:rollover  what it carried (up to rollover_from_previous), S + 28 days
-- The drip lots belong to the legacy subscription (its next cycle expires and carries them,
-- as for any drip) and name the legacy drip row they come from. Lots whose expiry has already
-- passed are expired at once, each through an `expiration` transaction, as the token-expiry
-- job would.
--
-- Schedules. Each subscription with dated legacy drips keeps its grid: drip_anchor = the start
-- of its last legacy cycle n less (n - 1) x 28 days, legacy_last_cycle = n,
-- next_cycle_number = n + 1. It has no plan yet, so it drips nothing until it is known to be
-- active (a Stripe event once it is linked, or the operator: docs/api.md, upgrade day); the
-- schedule trigger then continues it (private.subscription_schedule).

do $$
declare
  v_user record;
  v_tx public.token_transactions;
  v_permanent bigint;
  v_drip bigint;
  v_carried bigint;
  v_part record;
begin
  for v_user in
    with history as (
      select t.user_id from public.token_transactions t where t.is_legacy
      union select d.user_id from public.token_drips d where d.is_legacy
      union select u.user_id from public.token_usage u where u.is_legacy
    ),
    last_balance as (
      select distinct on (x.user_id) x.user_id, x.balance_after
      from (
        select t.user_id, t.balance_after::bigint as balance_after, t.created_at as at, 1 as tiebreak
          from public.token_transactions t where t.is_legacy and t.balance_after is not null
        union all
        select d.user_id, d.balance_after::bigint, d.created_at, 0
          from public.token_drips d where d.is_legacy
      ) x
      order by x.user_id, x.at desc nulls last, x.tiebreak desc
    ),
    last_drip as (
      select distinct on (d.user_id) d.user_id, d.id, d.subscription_id, d.cycle_number,
             coalesce(d.billing_period_start, d.drip_date, d.created_at) as start_at,
             coalesce(d.created_at, d.drip_date, d.billing_period_start) as written_at,
             greatest(d.drip_amount, 0) as drip_amount, greatest(coalesce(d.rollover_from_previous, 0), 0) as rollover,
             greatest(d.balance_after - d.drip_amount - coalesce(d.rollover_from_previous, 0), 0) as not_drip
      from public.token_drips d
      where d.is_legacy and coalesce(d.billing_period_start, d.drip_date, d.created_at) is not null
      order by d.user_id, coalesce(d.billing_period_start, d.drip_date, d.created_at) desc, d.created_at desc nulls last
    )
    select h.user_id, coalesce(lb.balance_after, 0) as balance, ld.id as drip_id, ld.subscription_id, ld.cycle_number,
           ld.start_at, ld.drip_amount, ld.rollover,
           ld.not_drip + coalesce((select sum(t.token_amount) from public.token_transactions t
                                    where t.user_id = h.user_id and t.is_legacy and t.token_amount > 0
                                      and t.created_at > ld.written_at), 0) as bought,
           (select p.id from public.token_drips p
             where p.is_legacy and p.subscription_id = ld.subscription_id and p.cycle_number = ld.cycle_number - 1
             order by p.created_at desc nulls last limit 1) as previous_drip_id
    from history h
    left join last_balance lb on lb.user_id = h.user_id
    left join last_drip ld on ld.user_id = h.user_id
    where not exists (
      select 1 from public.token_transactions t
      where t.user_id = h.user_id and t.transaction_type = 'opening_balance' and not t.is_legacy
    )
    order by h.user_id
  loop
    perform private.lock_balance(v_user.user_id);
    v_permanent := greatest(v_user.balance, 0);
    v_drip := 0;
    v_carried := 0;
    if v_user.drip_id is not null then
      v_permanent := least(v_permanent, v_user.bought);
      v_drip := least(greatest(v_user.balance, 0) - v_permanent, v_user.drip_amount);
      v_carried := least(greatest(v_user.balance, 0) - v_permanent - v_drip, v_user.rollover);
      v_permanent := greatest(v_user.balance, 0) - v_drip - v_carried;
    end if;

    for v_part in
      select x.* from (values
        ('', v_permanent, null::timestamptz, null::uuid, null::integer),
        (':drip', v_drip, private.add_intervals(v_user.start_at, interval '28 days', 2), v_user.drip_id, v_user.cycle_number),
        (':rollover', v_carried, private.add_intervals(v_user.start_at, interval '28 days', 1), v_user.previous_drip_id,
         v_user.cycle_number - 1)
      ) x (suffix, tokens, expires_at, drip_id, cycle)
      where x.suffix = '' or x.tokens > 0
    loop
      v_tx := null;
      v_tx.user_id := v_user.user_id;
      v_tx.transaction_type := 'opening_balance';
      -- the whole legacy balance, less the drip tokens carried in the other two
      v_tx.token_amount := case when v_part.suffix = '' then v_user.balance - v_drip - v_carried else v_part.tokens end;
      v_tx.source := 'legacy';
      v_tx.idempotency_key := 'opening_balance:' || v_user.user_id || v_part.suffix;
      v_tx.expires_at := v_part.expires_at;
      v_tx.metadata := jsonb_build_object('legacy_balance', v_user.balance)
        || case when v_part.suffix = '' then '{}'::jsonb
                else jsonb_build_object('legacy_drip_id', v_part.drip_id, 'legacy_cycle', v_part.cycle) end;
      v_tx := private.post_transaction(v_tx, now(), true);
      if v_part.suffix <> '' then
        -- a drip lot: it belongs to its subscription and drip, dated from its cycle's start
        update public.token_lots l
           set source = 'drip', subscription_id = v_user.subscription_id, drip_id = v_part.drip_id,
               created_at = private.add_intervals(v_part.expires_at, interval '28 days', -2)
         where l.transaction_id = v_tx.id;
      end if;
    end loop;
  end loop;

  -- Drip tokens whose time passed before the upgrade lapse now, as the token-expiry job would.
  for v_user in
    select distinct l.user_id from public.token_lots l where l.has_tokens and l.expires_at <= now() order by l.user_id
  loop
    perform private.lock_balance(v_user.user_id);
    perform private.settle_user(v_user.user_id, now());
  end loop;

  -- Schedules: the grid and numbering of each subscription's last dated legacy cycle.
  update public.customer_subscriptions s
     set legacy_last_cycle = d.cycle_number,
         next_cycle_number = d.cycle_number + 1,
         drip_anchor = private.add_intervals(d.start_at, interval '28 days', 1 - d.cycle_number)
    from (
      select distinct on (d.subscription_id) d.subscription_id, d.cycle_number,
             coalesce(d.billing_period_start, d.drip_date, d.created_at) as start_at
      from public.token_drips d
      where d.is_legacy and d.subscription_id is not null and d.cycle_number between 1 and 100000
        and coalesce(d.billing_period_start, d.drip_date, d.created_at) is not null
      order by d.subscription_id, coalesce(d.billing_period_start, d.drip_date, d.created_at) desc, d.cycle_number desc
    ) d
   where s.id = d.subscription_id and s.legacy_last_cycle is null;
end
$$;
