-- Stripe webhook events: recorded once, applied in the same transaction.
--
-- The Edge Function verifies the signature and hands the event to handle_stripe_event().
-- Stripe delivers at least once, in any order, and retries on failure, so:
--   * stripe_events.id (the event id) is the primary key: a second delivery changes nothing;
--   * subscription updates carry event.created and never overwrite a newer state;
--   * refunds and disputes are reconciled against the purchase's state, so each token is
--     clawed back at most once and never more than the purchase granted;
--   * an event whose prerequisite has not arrived yet (a refund before its purchase, an
--     invoice before its subscription) raises, the function answers 500, and Stripe retries.

------------------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------------------

-- A Stripe epoch (seconds) as a timestamp; null when it is not one.
create or replace function private.epoch(p_value text)
returns timestamptz
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select case when p_value ~ '^[0-9]{1,12}$' then to_timestamp(p_value::double precision) end
$$;
revoke execute on function private.epoch(text) from public, anon, authenticated, service_role;

-- A uuid, or null when the text is not one (Stripe fields are free text).
create or replace function private.as_uuid(p_value text)
returns uuid
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select case when p_value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then p_value::uuid end
$$;
revoke execute on function private.as_uuid(text) from public, anon, authenticated, service_role;

-- Raised when an event arrives before what it refers to: the webhook answers 500 and Stripe
-- delivers it again later, by when the earlier event has been processed.
create or replace function private.not_yet(p_message text)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception using errcode = '55000', message = p_message,
    hint = 'Stripe retries the delivery; it applies once the event it depends on has been processed.';
end;
$$;
revoke execute on function private.not_yet(text) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Checkout: purchases, and linking a Stripe customer to a user
------------------------------------------------------------------------------------------

create or replace function private.stripe_checkout(p_event jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_session jsonb := p_event -> 'data' -> 'object';
  v_user uuid := coalesce(private.as_uuid(v_session ->> 'client_reference_id'),
                          private.as_uuid(v_session -> 'metadata' ->> 'user_id'));
  v_pack text := v_session -> 'metadata' ->> 'pack_id';
begin
  if v_user is null or not exists (select 1 from auth.users u where u.id = v_user) then
    return jsonb_build_object('ignored', 'the session names no known user (client_reference_id or metadata.user_id)');
  end if;

  if v_session ->> 'mode' = 'subscription' then
    if v_session ->> 'customer' is null then
      return jsonb_build_object('ignored', 'subscription session without a customer');
    end if;
    insert into public.stripe_customers (stripe_customer_id, user_id)
    values (v_session ->> 'customer', v_user)
    on conflict (stripe_customer_id) do nothing;
    return jsonb_build_object('linked_customer', v_session ->> 'customer', 'user_id', v_user);
  end if;

  if v_session ->> 'mode' <> 'payment' then
    return jsonb_build_object('ignored', format('checkout mode %s', v_session ->> 'mode'));
  end if;
  if coalesce(v_session ->> 'payment_status', '') not in ('paid', 'no_payment_required') then
    return jsonb_build_object('ignored', 'payment not completed yet; checkout.session.async_payment_succeeded will follow');
  end if;
  if v_pack is null and v_session -> 'metadata' ->> 'price_id' is not null then
    select p.id into v_pack from public.token_packs p where p.stripe_price_id = v_session -> 'metadata' ->> 'price_id';
  end if;
  if v_pack is null then
    perform private.invalid('The checkout session names no token pack (metadata.pack_id or metadata.price_id).');
  end if;
  -- One purchase per session, whichever of completed / async_payment_succeeded comes first.
  return public.record_purchase(
    p_user_id => v_user,
    p_pack_id => v_pack,
    p_idempotency_key => 'checkout:' || (v_session ->> 'id'),
    p_amount_cents => coalesce((v_session ->> 'amount_total')::bigint, 0),
    p_currency => coalesce(v_session ->> 'currency', 'usd'),
    p_stripe_checkout_session_id => v_session ->> 'id',
    p_stripe_payment_intent_id => v_session ->> 'payment_intent',
    p_stripe_customer_id => v_session ->> 'customer',
    p_stripe_event_id => p_event ->> 'id',
    p_metadata => jsonb_build_object('stripe_event_type', p_event ->> 'type')
  );
end;
$$;
revoke execute on function private.stripe_checkout(jsonb) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Subscriptions
------------------------------------------------------------------------------------------

create or replace function private.stripe_subscription(p_event jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_sub jsonb := p_event -> 'data' -> 'object';
  v_created timestamptz := private.epoch(p_event ->> 'created');
  v_customer text := v_sub ->> 'customer';
  v_user uuid := private.as_uuid(v_sub -> 'metadata' ->> 'user_id');
  v_price text := v_sub #>> '{items,data,0,price,id}';
  v_plan text;
  v_status text := v_sub ->> 'status';
  v_row public.customer_subscriptions;
begin
  if v_user is null then
    select c.user_id into v_user from public.stripe_customers c where c.stripe_customer_id = v_customer;
  end if;
  if v_user is null then
    perform private.not_yet(format('Subscription %s: no metadata.user_id and customer %s is not linked to a user yet.',
      v_sub ->> 'id', v_customer));
  end if;
  if not exists (select 1 from auth.users u where u.id = v_user) then
    return jsonb_build_object('ignored', format('unknown user %s', v_user));
  end if;
  select p.id into v_plan from public.subscription_plans p where p.stripe_price_id = v_price;
  if v_plan is null then
    perform private.invalid(format('Subscription %s: price %s is not in subscription_plans.', v_sub ->> 'id', v_price));
  end if;
  if p_event ->> 'type' = 'customer.subscription.deleted' then
    v_status := 'canceled';
  end if;

  perform private.lock_balance(v_user);
  if v_customer is not null then
    insert into public.stripe_customers (stripe_customer_id, user_id) values (v_customer, v_user)
    on conflict (stripe_customer_id) do nothing;
  end if;

  insert into public.customer_subscriptions as s (
    user_id, stripe_subscription_id, stripe_customer_id, plan_id, status,
    current_period_start, current_period_end, cancel_at_period_end, canceled_at,
    drip_anchor, last_stripe_event_at
  ) values (
    v_user, v_sub ->> 'id', v_customer, v_plan, v_status,
    private.epoch(coalesce(v_sub #>> '{items,data,0,current_period_start}', v_sub ->> 'current_period_start')),
    private.epoch(coalesce(v_sub #>> '{items,data,0,current_period_end}', v_sub ->> 'current_period_end')),
    coalesce((v_sub ->> 'cancel_at_period_end')::boolean, false),
    private.epoch(v_sub ->> 'canceled_at'),
    coalesce(private.epoch(v_sub ->> 'start_date'), private.epoch(v_sub ->> 'created'), v_created),
    v_created
  )
  on conflict (stripe_subscription_id) do update set
    stripe_customer_id = excluded.stripe_customer_id,
    plan_id = excluded.plan_id,
    -- Stripe never revives a canceled subscription; a late event must not either.
    status = case when s.status = 'canceled' then 'canceled' else excluded.status end,
    current_period_start = excluded.current_period_start,
    current_period_end = excluded.current_period_end,
    cancel_at_period_end = excluded.cancel_at_period_end,
    canceled_at = coalesce(excluded.canceled_at, s.canceled_at),
    last_stripe_event_at = excluded.last_stripe_event_at
  where s.last_stripe_event_at is null or s.last_stripe_event_at <= excluded.last_stripe_event_at
  returning * into v_row;

  if v_row.id is null then
    return jsonb_build_object('ignored', 'stale event: a newer event already set this subscription');
  end if;
  return jsonb_build_object('subscription_id', v_row.id, 'user_id', v_user, 'status', v_row.status, 'plan_id', v_row.plan_id);
end;
$$;
revoke execute on function private.stripe_subscription(jsonb) from public, anon, authenticated, service_role;

-- invoice.paid: annual plans get their subscription_grant (once per invoice); drip plans get
-- the cycle that is due now, without waiting for cron.
create or replace function private.stripe_invoice_paid(p_event jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_invoice jsonb := p_event -> 'data' -> 'object';
  v_stripe_sub text := coalesce(v_invoice #>> '{parent,subscription_details,subscription}', v_invoice ->> 'subscription');
  v_created timestamptz := private.epoch(p_event ->> 'created');
  v_sub public.customer_subscriptions;
  v_plan public.subscription_plans;
  v_result jsonb := '{}'::jsonb;
begin
  if v_stripe_sub is null then
    return jsonb_build_object('ignored', 'invoice without a subscription');
  end if;
  select * into v_sub from public.customer_subscriptions s where s.stripe_subscription_id = v_stripe_sub;
  if v_sub.id is null then
    perform private.not_yet(format('Invoice %s: subscription %s is not recorded yet.', v_invoice ->> 'id', v_stripe_sub));
  end if;
  perform private.lock_balance(v_sub.user_id);
  -- A paid invoice brings a past_due/unpaid/incomplete subscription back to active, as Stripe
  -- does, unless a newer subscription event already said otherwise.
  update public.customer_subscriptions s set status = 'active', last_stripe_event_at = v_created
   where s.id = v_sub.id and s.status in ('past_due', 'unpaid', 'incomplete')
     and (s.last_stripe_event_at is null or s.last_stripe_event_at <= v_created);
  select * into v_plan from public.subscription_plans p where p.id = v_sub.plan_id;

  if v_plan.annual_grant_tokens is not null and coalesce((v_invoice ->> 'amount_paid')::bigint, 0) > 0 then
    v_result := v_result || jsonb_build_object('grant', public.grant_tokens(
      p_user_id => v_sub.user_id,
      p_amount => v_plan.annual_grant_tokens,
      p_type => 'subscription_grant',
      p_idempotency_key => 'invoice:' || (v_invoice ->> 'id'),
      p_source => 'stripe',
      p_metadata => jsonb_build_object('stripe_invoice_id', v_invoice ->> 'id', 'stripe_subscription_id', v_stripe_sub,
                                       'plan_id', v_plan.id)
    ));
  end if;
  if coalesce(v_plan.drip_tokens, 0) > 0 then
    v_result := v_result || jsonb_build_object('drip', public.run_drip(v_sub.id, now()));
  end if;
  return v_result || jsonb_build_object('subscription_id', v_sub.id);
end;
$$;
revoke execute on function private.stripe_invoice_paid(jsonb) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Refunds and disputes
------------------------------------------------------------------------------------------

-- Tokens of a purchase that a refunded or disputed amount stands for, rounded down
-- (never more than the purchase granted; the full amount takes back every token).
create or replace function private.tokens_for_cents(p_tokens bigint, p_cents bigint, p_total_cents bigint)
returns bigint
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select case
    when p_total_cents is null or p_total_cents <= 0 then
      case when p_cents > 0 then p_tokens else 0 end
    else floor(p_tokens::numeric * least(greatest(p_cents, 0), p_total_cents) / p_total_cents)::bigint
  end
$$;
revoke execute on function private.tokens_for_cents(bigint, bigint, bigint) from public, anon, authenticated, service_role;

-- Bring a purchase's tokens in line with its refund/dispute state: the tokens that should be
-- gone are min(granted, refunded share + active dispute share); what was already clawed back
-- (net of reinstatements) is subtracted, and one transaction moves the difference.
create or replace function private.reconcile_purchase(
  p_purchase public.token_transactions,
  p_type text,
  p_event jsonb,
  p_charge_id text
)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_state private.purchase_clawback_state;
  v_should bigint;
  v_done bigint;
  v_tx public.token_transactions;
  v_lot uuid;
begin
  select * into strict v_state from private.purchase_clawback_state s where s.purchase_id = p_purchase.id;
  v_should := least(p_purchase.token_amount,
    private.tokens_for_cents(p_purchase.token_amount, v_state.amount_refunded_cents, p_purchase.amount_cents)
    + case when v_state.dispute_active
           then private.tokens_for_cents(p_purchase.token_amount, v_state.dispute_cents, p_purchase.amount_cents) else 0 end);
  select coalesce(-sum(t.token_amount), 0) into v_done
    from public.token_transactions t
   where t.related_transaction_id = p_purchase.id and t.transaction_type in ('refund', 'dispute', 'dispute_reversal');
  if v_should = v_done then
    return jsonb_build_object('purchase_id', p_purchase.id, 'tokens', 0, 'note', 'already reconciled');
  end if;

  select l.id into v_lot from public.token_lots l where l.transaction_id = p_purchase.id;
  v_tx := null;
  v_tx.user_id := p_purchase.user_id;
  v_tx.transaction_type := case when v_should > v_done then p_type else 'dispute_reversal' end;
  v_tx.token_amount := v_done - v_should;
  v_tx.source := 'stripe';
  v_tx.idempotency_key := 'stripe:' || (p_event ->> 'id');
  v_tx.related_transaction_id := p_purchase.id;
  v_tx.pack_id := p_purchase.pack_id;
  v_tx.currency := p_purchase.currency;
  v_tx.stripe_event_id := p_event ->> 'id';
  v_tx.stripe_payment_intent_id := p_purchase.stripe_payment_intent_id;
  v_tx.stripe_charge_id := p_charge_id;
  v_tx.metadata := jsonb_build_object('stripe_event_type', p_event ->> 'type',
    'amount_refunded_cents', v_state.amount_refunded_cents, 'dispute_cents', v_state.dispute_cents,
    'dispute_active', v_state.dispute_active);
  perform private.settle_user(p_purchase.user_id, now());
  -- A clawback takes the purchase's own remaining tokens first, then others; what is missing
  -- becomes debt. A reinstatement is a new lot (and repays debt first).
  v_tx := private.post_transaction(v_tx, now(), true, v_lot);
  return private.transaction_result(v_tx, false) || jsonb_build_object('purchase_id', p_purchase.id);
end;
$$;
revoke execute on function private.reconcile_purchase(public.token_transactions, text, jsonb, text) from public, anon, authenticated, service_role;

create or replace function private.stripe_refund_or_dispute(p_event jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_obj jsonb := p_event -> 'data' -> 'object';
  v_type text := p_event ->> 'type';
  v_pi text := v_obj ->> 'payment_intent';
  v_charge text := case when v_type = 'charge.refunded' then v_obj ->> 'id' else v_obj ->> 'charge' end;
  v_purchase public.token_transactions;
  v_kind text;
begin
  select * into v_purchase from public.token_transactions t
   where t.transaction_type = 'purchase' and not t.is_legacy and t.stripe_payment_intent_id = v_pi
   order by t.created_at limit 1;
  if v_purchase.id is null then
    -- Not a token purchase we know of. When the charge says it is one (the app sets
    -- payment_intent_data.metadata.pack_id), the purchase event has not arrived yet: retry.
    if v_obj -> 'metadata' ? 'pack_id' then
      perform private.not_yet(format('%s for payment_intent %s arrived before its purchase.', v_type, v_pi));
    end if;
    return jsonb_build_object('ignored', format('no token purchase for payment_intent %s', v_pi));
  end if;

  perform private.lock_balance(v_purchase.user_id);
  insert into private.purchase_clawback_state (purchase_id) values (v_purchase.id) on conflict (purchase_id) do nothing;

  if v_type = 'charge.refunded' then
    v_kind := 'refund';
    -- amount_refunded is cumulative; an older event (lower total) changes nothing.
    update private.purchase_clawback_state s
       set amount_refunded_cents = greatest(s.amount_refunded_cents, coalesce((v_obj ->> 'amount_refunded')::bigint, 0)),
           updated_at = now()
     where s.purchase_id = v_purchase.id;
  elsif v_type = 'charge.dispute.created' then
    v_kind := 'dispute';
    if coalesce(v_obj ->> 'status', '') like 'warning%' then
      return jsonb_build_object('ignored', 'an inquiry (warning) withdraws no funds');
    end if;
    update private.purchase_clawback_state s
       set dispute_id = v_obj ->> 'id', dispute_cents = coalesce((v_obj ->> 'amount')::bigint, 0),
           -- a `closed` (won) that was delivered first wins over this late `created`
           dispute_active = not s.dispute_closed, updated_at = now()
     where s.purchase_id = v_purchase.id and (s.dispute_id is null or s.dispute_id = v_obj ->> 'id');
  else -- charge.dispute.closed
    v_kind := 'dispute';
    if v_obj ->> 'status' = 'lost' then
      return jsonb_build_object('ignored', 'dispute lost: the tokens stay clawed back');
    end if;
    if v_obj ->> 'status' not in ('won', 'warning_closed') then
      return jsonb_build_object('ignored', format('dispute closed with status %s', v_obj ->> 'status'));
    end if;
    update private.purchase_clawback_state s
       set dispute_id = v_obj ->> 'id', dispute_cents = coalesce((v_obj ->> 'amount')::bigint, 0),
           dispute_active = false, dispute_closed = true, updated_at = now()
     where s.purchase_id = v_purchase.id and (s.dispute_id is null or s.dispute_id = v_obj ->> 'id');
  end if;
  return private.reconcile_purchase(v_purchase, v_kind, p_event, v_charge);
end;
$$;
revoke execute on function private.stripe_refund_or_dispute(jsonb) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- The RPC
------------------------------------------------------------------------------------------

create or replace function public.handle_stripe_event(p_event jsonb)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_id text := p_event ->> 'id';
  v_type text := p_event ->> 'type';
  v_created timestamptz;
  v_prior public.stripe_events;
  v_effect jsonb;
  v_status text := 'processed';
begin
  if private.caller_kind() <> 'service' then
    perform private.deny('Only the service handles Stripe events.');
  end if;
  if p_event is null or jsonb_typeof(p_event) <> 'object' or jsonb_typeof(p_event -> 'data' -> 'object') is distinct from 'object'
     or v_id is null or v_id !~ '^evt_[A-Za-z0-9_]{1,250}$' or coalesce(v_type, '') = ''
     or private.epoch(p_event ->> 'created') is null then
    perform private.invalid('p_event must be a Stripe event: an object with id (evt_...), type, created and data.object.');
  end if;
  v_created := private.epoch(p_event ->> 'created');

  -- Record first: a concurrent delivery of the same id waits here, then sees the row.
  insert into public.stripe_events (id, type, created, livemode, payload, status)
  values (v_id, v_type, v_created, coalesce((p_event ->> 'livemode')::boolean, false), p_event, 'processed')
  on conflict (id) do nothing;
  if not found then
    select * into v_prior from public.stripe_events e where e.id = v_id;
    return jsonb_build_object('event_id', v_id, 'type', v_prior.type, 'status', 'duplicate', 'result', v_prior.result);
  end if;

  v_effect := case
    when v_type in ('checkout.session.completed', 'checkout.session.async_payment_succeeded') then private.stripe_checkout(p_event)
    when v_type in ('customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted')
      then private.stripe_subscription(p_event)
    when v_type = 'invoice.paid' then private.stripe_invoice_paid(p_event)
    when v_type in ('charge.refunded', 'charge.dispute.created', 'charge.dispute.closed') then private.stripe_refund_or_dispute(p_event)
    else jsonb_build_object('ignored', format('event type %s is not handled', v_type))
  end;
  if v_effect ? 'ignored' then
    v_status := 'ignored';
  end if;
  update public.stripe_events e
     set status = v_status, result = v_effect, error = v_effect ->> 'ignored', processed_at = now()
   where e.id = v_id;
  return jsonb_build_object('event_id', v_id, 'type', v_type, 'status', v_status, 'result', v_effect);
end;
$$;
revoke execute on function public.handle_stripe_event(jsonb) from public, anon, authenticated, service_role;
grant execute on function public.handle_stripe_event(jsonb) to service_role;
