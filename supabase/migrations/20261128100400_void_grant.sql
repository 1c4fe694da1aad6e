-- Voiding one grant or purchase: its unspent tokens leave the balance as a correcting `void`
-- transaction; what was already spent is never taken back by a void (refunds and deductions
-- are for that). The granted row stays as it was (the ledger never rewrites a row); the void
-- points at it (related_transaction_id).

-- void_grant: admins and the service void one purchase, admin grant, subscription grant or
-- trial grant, with a reason. Idempotent by key (global, as grant_tokens' keys): the same key
-- and request again returns the first result with "replayed": true; the same key for
-- another request is PT409. A grant is voided at most once: another key for a voided grant
-- is 22023, as is a key with a reserved prefix (void:, ...). Lots that lapsed are swept
-- first (their tokens left as an expiration, not a void).
-- Result: transaction_result of the void (token_amount = -tokens_voided) plus
--   voided_transaction_id, tokens_voided, tokens_spent (what the grant's lot no longer held:
--   spent, expired, clawed back or used to repay debt; never taken back).
create or replace function public.void_grant(p_transaction_id uuid, p_reason text, p_idempotency_key text)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_kind text := private.caller_kind();
  v_grant public.token_transactions;
  v_hash text;
  v_tx public.token_transactions;
  v_lot public.token_lots;
  v_prior_void uuid;
begin
  if v_kind not in ('service', 'admin') then
    perform private.deny('Only the service or an admin may void a grant.');
  end if;
  if p_transaction_id is null then
    perform private.invalid('p_transaction_id is required: the purchase or grant to void.');
  end if;
  if p_reason is null or btrim(p_reason) = '' or length(p_reason) > 500 then
    perform private.invalid('p_reason is required (at most 500 characters): say why the grant is voided.');
  end if;
  perform private.check_caller_key(p_idempotency_key);
  select * into v_grant from public.token_transactions t where t.id = p_transaction_id;
  if v_grant.id is null then
    perform private.invalid(format('Unknown transaction %s.', p_transaction_id));
  end if;
  v_hash := md5(jsonb_build_array('void', p_transaction_id, p_reason)::text);

  perform private.lock_balance(v_grant.user_id);
  v_tx := private.prior_transaction(v_grant.user_id, p_idempotency_key, v_hash);
  if v_tx.id is not null then
    return private.transaction_result(v_tx, true) || jsonb_build_object('voided_transaction_id', p_transaction_id,
      'tokens_voided', -v_tx.token_amount, 'tokens_spent', (v_tx.metadata ->> 'tokens_spent')::bigint);
  end if;

  if v_grant.is_legacy or v_grant.transaction_type not in ('purchase', 'admin_grant', 'subscription_grant', 'trial_grant') then
    raise exception using errcode = '22023',
      message = format('Transaction %s is a %s, not a purchase or grant that can be voided.', p_transaction_id,
                       case when v_grant.is_legacy then 'legacy row' else v_grant.transaction_type end),
      hint = 'Void the purchase or grant itself; for anything else use an admin_deduction.';
  end if;
  select t.id into v_prior_void from public.token_transactions t
   where t.related_transaction_id = p_transaction_id and t.transaction_type = 'void';
  if v_prior_void is not null then
    raise exception using errcode = '22023', message = format('Transaction %s is already voided.', p_transaction_id),
      detail = format('void transaction: %s', v_prior_void);
  end if;

  perform private.settle_user(v_grant.user_id, now());
  select * into strict v_lot from public.token_lots l where l.transaction_id = p_transaction_id;
  v_tx := null;
  v_tx.user_id := v_grant.user_id;
  v_tx.transaction_type := 'void';
  v_tx.token_amount := -v_lot.remaining;
  v_tx.source := v_kind;
  v_tx.related_transaction_id := p_transaction_id;
  v_tx.pack_id := v_grant.pack_id;
  v_tx.metadata := jsonb_build_object('reason', p_reason, 'lot_id', v_lot.id, 'granted', v_lot.original,
    'tokens_spent', v_lot.original - v_lot.remaining);
  v_tx.actor_id := (select auth.uid());
  v_tx.idempotency_key := p_idempotency_key;
  v_tx.request_hash := v_hash;
  -- The grant's own lot first and only: exactly its remaining tokens leave.
  v_tx := private.post_transaction(v_tx, now(), false, v_lot.id);
  return private.transaction_result(v_tx, false) || jsonb_build_object('voided_transaction_id', p_transaction_id,
    'tokens_voided', v_lot.remaining, 'tokens_spent', v_lot.original - v_lot.remaining);
end;
$$;
revoke execute on function public.void_grant(uuid, text, text) from public, anon, authenticated, service_role;
-- authenticated may call it; the function itself admits only admins (app_metadata.role).
grant execute on function public.void_grant(uuid, text, text) to authenticated, service_role;
