-- Carry each legacy user's balance into the ledger as one `opening_balance` transaction.
--
-- The legacy tables recorded balances but never enforced them, so their rows are kept as
-- they are (is_legacy) and left out of the ledger's arithmetic. A user's legacy balance is
-- the balance_after of their most recent legacy row in token_transactions or token_drips
-- (token_usage had no balance columns). Every user with any legacy row gets an opening
-- balance, zero included, so verify_token_ledger() is clean right after the upgrade.
-- A negative legacy balance becomes debt. On an empty database this does nothing.

do $$
declare
  v_user record;
  v_tx public.token_transactions;
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
    )
    select h.user_id, coalesce(lb.balance_after, 0) as balance
    from history h
    left join last_balance lb on lb.user_id = h.user_id
    where not exists (
      select 1 from public.token_transactions t
      where t.user_id = h.user_id and t.transaction_type = 'opening_balance' and not t.is_legacy
    )
    order by h.user_id
  loop
    perform private.lock_balance(v_user.user_id);
    v_tx := null;
    v_tx.user_id := v_user.user_id;
    v_tx.transaction_type := 'opening_balance';
    v_tx.token_amount := v_user.balance;
    v_tx.source := 'legacy';
    v_tx.idempotency_key := 'opening_balance:' || v_user.user_id;
    v_tx.metadata := jsonb_build_object('legacy_balance', v_user.balance);
    perform private.post_transaction(v_tx, now(), true);
  end loop;
end
$$;
