-- Stripe webhook events: recorded once, applied in the same transaction.
--
-- The Edge Function verifies the signature and hands the event to handle_stripe_event().
-- Stripe delivers at least once, in any order, and retries on failure, so:
--   * stripe_events.id (the event id) is the primary key: a second delivery changes nothing;
--   * subscription updates carry event.created and never overwrite a newer state;
--   * refunds and disputes are reconciled against the purchase's state, so each token is
--     clawed back at most once and never more than the purchase granted;
--   * an event whose prerequisite has not arrived yet (a refund before its purchase, an
--     invoice before its subscription) raises, the function answers 500, and Stripe retries;
--   * a paid checkout that names no known user is kept in unattributed_payments (answered 200,
--     status unattributed) until an operator attributes it (attribute_payment);
--   * so is a subscription that names no known user (its event row, status unattributed),
--     and its invoices get the same final answer instead of 55000 retried for days.

------------------------------------------------------------------------------------------
-- Helpers
------------------------------------------------------------------------------------------

-- A Stripe epoch (seconds) as a timestamp; null when it is not one. A whole number may come
-- with a zero fraction (1767225540.0): jsonb keeps the number as it was written.
create or replace function private.epoch(p_value text)
returns timestamptz
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select case when p_value ~ '^[0-9]{1,12}(\.0+)?$' then to_timestamp(p_value::numeric::double precision) end
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

-- Why p_event is not a usable Stripe event, or null when it is one. The stripe-webhook function
-- applies the same rule (supabase/functions/stripe-webhook/usable_event.ts) and answers 400
-- without calling; here it guards every other caller. The id leaves room for the keys made
-- from it ('stripe:<event id>' within 255 characters). created must be whole seconds as the
-- function reads it: a double (float8 here), so both round a long literal the same way.
create or replace function private.stripe_event_problem(p_event jsonb)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select case
    when p_event is null or jsonb_typeof(p_event) <> 'object' then 'not a JSON object'
    when jsonb_typeof(p_event -> 'id') is distinct from 'string' or p_event ->> 'id' !~ '^evt_[A-Za-z0-9_]{1,244}$'
      then 'id must be evt_ and 1 to 244 letters, digits or underscores'
    when p_event -> 'object' is distinct from '"event"'::jsonb
      then 'object must be "event" (a snapshot event; thin events are not taken)'
    when jsonb_typeof(p_event -> 'type') is distinct from 'string' or length(p_event ->> 'type') not between 1 and 255
      then 'type must be a string of 1 to 255 characters'
    when jsonb_typeof(p_event -> 'created') is distinct from 'number'
      -- (the coarse bounds first: beyond them the float8 cast could overflow)
      or (p_event ->> 'created')::numeric not between -1 and 253402300800
      or (p_event ->> 'created')::numeric::float8 not between 0 and 253402300799
      or (p_event ->> 'created')::numeric::float8 <> trunc((p_event ->> 'created')::numeric::float8)
      then 'created must be whole seconds since 1970 (a JSON number, before the year 10000)'
    when jsonb_typeof(p_event -> 'livemode') not in ('boolean', 'null') then 'livemode must be true or false'
    when jsonb_typeof(p_event -> 'data' -> 'object') is distinct from 'object' then 'data.object must be a JSON object'
  end
$$;
revoke execute on function private.stripe_event_problem(jsonb) from public, anon, authenticated, service_role;

------------------------------------------------------------------------------------------
-- Checkout: purchases, and linking a Stripe customer to a user
------------------------------------------------------------------------------------------

-- The user a checkout session names: client_reference_id when it is a known user, otherwise
-- metadata.user_id when that is one (an app may put its own reference in client_reference_id,
-- or name a user that was deleted since); null when neither is.
create or replace function private.checkout_user(p_session jsonb)
returns uuid
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select u.id
    from (values (1, private.as_uuid(p_session ->> 'client_reference_id')),
                 (2, private.as_uuid(p_session -> 'metadata' ->> 'user_id'))) as named (rank, id)
    join auth.users u on u.id = named.id
   order by named.rank
   limit 1
$$;
revoke execute on function private.checkout_user(jsonb) from public, anon, authenticated, service_role;

-- The pack a checkout session names: metadata.pack_id, or the pack of metadata.price_id.
create or replace function private.checkout_pack(p_session jsonb)
returns text
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select coalesce(p_session -> 'metadata' ->> 'pack_id',
    (select p.id from public.token_packs p where p.stripe_price_id = p_session -> 'metadata' ->> 'price_id'))
$$;
revoke execute on function private.checkout_pack(jsonb) from public, anon, authenticated, service_role;

-- The purchase a paid pack session stands for, granted to p_user. The one path for the
-- webhook and for attribute_payment: the same key ('checkout:<session id>') and the same
-- request, so a session is bought once, whichever way and however often it arrives.
create or replace function private.checkout_purchase(p_event jsonb, p_user uuid, p_metadata jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_session jsonb := p_event -> 'data' -> 'object';
  v_pack text;
begin
  -- The pack of a session that has already bought is the one it bought: a later event (or
  -- attribution) of it must replay the purchase, whatever the catalog says now about its
  -- metadata.price_id (the replay comes before the catalog, as in every RPC).
  -- (By session, not by key: keys are per user, and the session may name another user now.)
  select t.pack_id into v_pack from public.token_transactions t
   where t.stripe_checkout_session_id = v_session ->> 'id' and t.idempotency_key = 'checkout:' || (v_session ->> 'id')
   order by t.created_at
   limit 1;
  v_pack := coalesce(v_pack, private.checkout_pack(v_session));
  if v_pack is null then
    perform private.invalid('The checkout session names no token pack (metadata.pack_id or metadata.price_id).');
  end if;
  -- The private entry point: checkout: keys are reserved to the ledger.
  return private.record_purchase(
    p_user_id => p_user,
    p_pack_id => v_pack,
    p_idempotency_key => 'checkout:' || (v_session ->> 'id'),
    p_amount_cents => coalesce((v_session ->> 'amount_total')::bigint, 0),
    p_currency => coalesce(v_session ->> 'currency', 'usd'),
    p_stripe_checkout_session_id => v_session ->> 'id',
    p_stripe_payment_intent_id => v_session ->> 'payment_intent',
    p_stripe_customer_id => v_session ->> 'customer',
    p_stripe_event_id => p_event ->> 'id',
    p_metadata => jsonb_build_object('stripe_event_type', p_event ->> 'type') || p_metadata
  );
end;
$$;
revoke execute on function private.checkout_purchase(jsonb, uuid, jsonb) from public, anon, authenticated, service_role;

create or replace function private.stripe_checkout(p_event jsonb)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_session jsonb := p_event -> 'data' -> 'object';
  v_user uuid := private.checkout_user(p_event -> 'data' -> 'object');
  v_kept public.unattributed_payments;
  v_result jsonb;
begin
  if v_session ->> 'mode' = 'subscription' then
    if v_user is null then
      return jsonb_build_object('ignored', 'the session names no known user (client_reference_id or metadata.user_id)');
    end if;
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

  -- A session kept as unattributed: once attributed, it belongs to that user whatever a later
  -- event names (the purchase replays); the lock orders this with attribute_payment.
  select * into v_kept from public.unattributed_payments u
   where u.stripe_checkout_session_id = v_session ->> 'id' for update;
  if v_kept.attributed_at is not null then
    v_user := v_kept.attributed_user_id;
  end if;
  if v_user is null then
    -- Paid, but for nobody we know: keep it for an operator rather than drop it. 200, not a
    -- retryable error: no retry can name the user, only an operator can.
    insert into public.unattributed_payments (
      stripe_checkout_session_id, stripe_event_id, payload, amount_cents, currency, pack_id,
      stripe_payment_intent_id, stripe_customer_id, customer_email, client_reference_id, metadata_user_id
    ) values (
      v_session ->> 'id', p_event ->> 'id', p_event, coalesce((v_session ->> 'amount_total')::bigint, 0),
      lower(coalesce(v_session ->> 'currency', 'usd')), private.checkout_pack(v_session),
      v_session ->> 'payment_intent', v_session ->> 'customer',
      coalesce(v_session #>> '{customer_details,email}', v_session ->> 'customer_email'),
      v_session ->> 'client_reference_id', v_session -> 'metadata' ->> 'user_id'
    )
    on conflict (stripe_checkout_session_id) do nothing;
    return jsonb_build_object(
      'unattributed', 'the session names no known user (client_reference_id or metadata.user_id): '
        || 'kept in unattributed_payments until an operator attributes it (attribute_payment)',
      'stripe_checkout_session_id', v_session ->> 'id',
      'amount_cents', coalesce((v_session ->> 'amount_total')::bigint, 0),
      'currency', lower(coalesce(v_session ->> 'currency', 'usd')),
      'pack_id', private.checkout_pack(v_session));
  end if;

  -- One purchase per session, whichever of completed / async_payment_succeeded comes first.
  v_result := private.checkout_purchase(p_event, v_user, '{}'::jsonb);
  if v_kept.stripe_checkout_session_id is not null and v_kept.attributed_at is null then
    -- A later event named a known user (who signed up since): the kept payment is settled.
    update public.unattributed_payments u
       set attributed_user_id = v_user, attributed_at = now(), purchase_transaction_id = (v_result ->> 'transaction_id')::uuid
     where u.stripe_checkout_session_id = v_kept.stripe_checkout_session_id;
  end if;
  return v_result;
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
  v_interval interval;
  v_status text := v_sub ->> 'status';
  v_anchor timestamptz := coalesce(private.epoch(v_sub ->> 'start_date'), private.epoch(v_sub ->> 'created'), v_created);
  v_row public.customer_subscriptions;
begin
  -- A subscription recorded before stays its user's (the global directory: one user per Stripe
  -- subscription), whatever this event's metadata says.
  v_user := coalesce((select d.user_id from public.stripe_subscriptions d where d.stripe_subscription_id = v_sub ->> 'id'),
                     v_user);
  if v_user is null then
    select c.user_id into v_user from public.stripe_customers c where c.stripe_customer_id = v_customer;
  end if;
  if v_user is null then
    perform private.not_yet(format('Subscription %s: no metadata.user_id and customer %s is not linked to a user yet.',
      v_sub ->> 'id', v_customer));
  end if;
  if not exists (select 1 from auth.users u where u.id = v_user) then
    -- Only an operator can say whose subscription this is (metadata.user_id of nobody: a
    -- deleted account, another environment's id), so a retry could not help: answered 200 and
    -- kept (the event row, status unattributed), like a paid checkout naming no known user.
    -- Setting metadata.user_id in Stripe sends customer.subscription.updated, which records it.
    return jsonb_build_object('unattributed', format(
      'subscription %s names no known user (%s): kept until a subscription event names one', v_sub ->> 'id', v_user));
  end if;
  select p.id, p.drip_interval into v_plan, v_interval from public.subscription_plans p where p.stripe_price_id = v_price;
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
    drip_anchor, next_cycle_number, last_stripe_event_at
  ) values (
    v_user, v_sub ->> 'id', v_customer, v_plan, v_status,
    private.epoch(coalesce(v_sub #>> '{items,data,0,current_period_start}', v_sub ->> 'current_period_start')),
    private.epoch(coalesce(v_sub #>> '{items,data,0,current_period_end}', v_sub ->> 'current_period_end')),
    coalesce((v_sub ->> 'cancel_at_period_end')::boolean, false),
    private.epoch(v_sub ->> 'canceled_at'),
    v_anchor,
    -- First recorded now: drips begin with the cycle under way (the anchor's grid numbers
    -- it); cycles that ended before the ledger knew the subscription are not back-filled.
    private.cycle_in_progress(v_anchor, v_interval, now()),
    v_created
  )
  on conflict (user_id, stripe_subscription_id) do update set
    stripe_customer_id = excluded.stripe_customer_id,
    plan_id = excluded.plan_id,
    -- Stripe never revives a canceled or incomplete_expired subscription; a late event must
    -- not either (the schedule trigger refuses it).
    status = case when s.status in ('canceled', 'incomplete_expired') then s.status else excluded.status end,
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
-- what is due now without waiting for cron: run_drip issues every cycle due since the last
-- one issued, normally just the one under way (a subscription is never back-filled from
-- before the ledger first recorded it, see stripe_subscription).
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
  -- The subscription's user from the global directory, then the user's row.
  select s.* into v_sub from public.stripe_subscriptions d
    join public.customer_subscriptions s on s.user_id = d.user_id and s.stripe_subscription_id = d.stripe_subscription_id
   where d.stripe_subscription_id = v_stripe_sub;
  if v_sub.id is null then
    -- A subscription kept as naming no known user: its invoices are final too (200, no
    -- tokens), not 55000 retried by Stripe for days; operators read them in stripe_events.
    if exists (select 1 from public.stripe_events e
               where e.status = 'unattributed' and e.payload #>> '{data,object,id}' = v_stripe_sub
                 and e.type like 'customer.subscription.%') then
      return jsonb_build_object('unattributed', format(
        'invoice %s of subscription %s, which names no known user: no tokens', v_invoice ->> 'id', v_stripe_sub));
    end if;
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
    -- The private entry point: invoice: keys are reserved to the ledger.
    v_result := v_result || jsonb_build_object('grant', private.grant_tokens(
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
-- gone are min(granted - voided, refunded share + active dispute share); what was already clawed back
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
  select * into strict v_state from private.purchase_clawback_state s
   where s.user_id = p_purchase.user_id and s.purchase_id = p_purchase.id;
  -- Tokens an operator voided (void_grant) already left: a refund never takes them again.
  v_should := least(p_purchase.token_amount + coalesce((select sum(t.token_amount) from public.token_transactions t
                                                         where t.related_transaction_id = p_purchase.id
                                                           and t.transaction_type = 'void'), 0),
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
  v_unattributed text;
  v_kind text;
begin
  select * into v_purchase from public.token_transactions t
   where t.transaction_type = 'purchase' and not t.is_legacy and t.stripe_payment_intent_id = v_pi
   order by t.created_at limit 1;
  if v_purchase.id is null then
    -- A payment kept as unattributed: nothing was granted, so nothing is taken back. A refund
    -- or a dispute (not an inquiry) is remembered, so that the payment is not attributed later.
    select u.stripe_checkout_session_id into v_unattributed from public.unattributed_payments u
     where u.stripe_payment_intent_id = v_pi and u.attributed_at is null for update;
    if v_unattributed is not null then
      if v_type = 'charge.refunded' or (v_type = 'charge.dispute.created' and coalesce(v_obj ->> 'status', '') not like 'warning%') then
        update public.unattributed_payments u set refund_or_dispute_event_id = coalesce(u.refund_or_dispute_event_id, p_event ->> 'id')
         where u.stripe_checkout_session_id = v_unattributed;
      end if;
      return jsonb_build_object('ignored', format(
        'payment_intent %s is the unattributed payment of checkout session %s: no tokens were granted, none are taken back',
        v_pi, v_unattributed));
    end if;
    -- Not a token purchase we know of. When the charge says it is one (the app sets
    -- payment_intent_data.metadata.pack_id), the purchase event has not arrived yet: retry.
    if v_obj -> 'metadata' ? 'pack_id' then
      perform private.not_yet(format('%s for payment_intent %s arrived before its purchase.', v_type, v_pi));
    end if;
    return jsonb_build_object('ignored', format('no token purchase for payment_intent %s', v_pi));
  end if;

  perform private.lock_balance(v_purchase.user_id);
  insert into private.purchase_clawback_state (user_id, purchase_id) values (v_purchase.user_id, v_purchase.id)
  on conflict (user_id, purchase_id) do nothing;

  if v_type = 'charge.refunded' then
    v_kind := 'refund';
    -- amount_refunded is cumulative; an older event (lower total) changes nothing.
    update private.purchase_clawback_state s
       set amount_refunded_cents = greatest(s.amount_refunded_cents, coalesce((v_obj ->> 'amount_refunded')::bigint, 0)),
           updated_at = now()
     where s.user_id = v_purchase.user_id and s.purchase_id = v_purchase.id;
  elsif v_type = 'charge.dispute.created' then
    v_kind := 'dispute';
    if coalesce(v_obj ->> 'status', '') like 'warning%' then
      return jsonb_build_object('ignored', 'an inquiry (warning) withdraws no funds');
    end if;
    update private.purchase_clawback_state s
       set dispute_id = v_obj ->> 'id', dispute_cents = coalesce((v_obj ->> 'amount')::bigint, 0),
           -- a `closed` (won) that was delivered first wins over this late `created`
           dispute_active = not s.dispute_closed, updated_at = now()
     where s.user_id = v_purchase.user_id and s.purchase_id = v_purchase.id and (s.dispute_id is null or s.dispute_id = v_obj ->> 'id');
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
     where s.user_id = v_purchase.user_id and s.purchase_id = v_purchase.id and (s.dispute_id is null or s.dispute_id = v_obj ->> 'id');
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
  v_event jsonb;
  v_problem text := private.stripe_event_problem(p_event);
  v_prior public.stripe_events;
  v_effect jsonb;
  v_status text := 'processed';
begin
  perform private.require_service('Only the service handles Stripe events.');
  if v_problem is not null then
    raise exception using errcode = '22023', message = 'p_event is not a usable Stripe event: ' || v_problem || '.',
      detail = 'A snapshot event: an object with id (evt_...), object "event", type, created (whole seconds) and data.object.',
      hint = 'Pass the verified event exactly as Stripe sent it.';
  end if;
  v_created := to_timestamp((p_event ->> 'created')::numeric::float8);
  -- The handlers read created as plain seconds; a usable created may be written otherwise
  -- (1767225540.0, 1.76722554e9). stripe_events keeps the payload exactly as received.
  v_event := jsonb_set(p_event, '{created}', to_jsonb(extract(epoch from v_created)::bigint));

  -- Record first: a concurrent delivery of the same id waits here, then sees the row.
  insert into public.stripe_events (id, type, created, livemode, payload, status)
  values (v_id, v_type, v_created, coalesce((p_event ->> 'livemode')::boolean, false), p_event, 'processed')
  on conflict (id) do nothing;
  if not found then
    select * into v_prior from public.stripe_events e where e.id = v_id;
    return jsonb_build_object('event_id', v_id, 'type', v_prior.type, 'status', 'duplicate', 'result', v_prior.result);
  end if;

  v_effect := case
    when v_type in ('checkout.session.completed', 'checkout.session.async_payment_succeeded') then private.stripe_checkout(v_event)
    when v_type in ('customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted')
      then private.stripe_subscription(v_event)
    when v_type = 'invoice.paid' then private.stripe_invoice_paid(v_event)
    when v_type in ('charge.refunded', 'charge.dispute.created', 'charge.dispute.closed') then private.stripe_refund_or_dispute(v_event)
    else jsonb_build_object('ignored', format('event type %s is not handled', v_type))
  end;
  v_status := case when v_effect ? 'ignored' then 'ignored' when v_effect ? 'unattributed' then 'unattributed' else 'processed' end;
  update public.stripe_events e
     set status = v_status, result = v_effect, error = coalesce(v_effect ->> 'ignored', v_effect ->> 'unattributed'),
         processed_at = now()
   where e.id = v_id;
  return jsonb_build_object('event_id', v_id, 'type', v_type, 'status', v_status, 'result', v_effect);
end;
$$;
revoke execute on function public.handle_stripe_event(jsonb) from public, anon, authenticated, service_role;
grant execute on function public.handle_stripe_event(jsonb) to service_role;

------------------------------------------------------------------------------------------
-- Operators: attributing a payment that named no known user
------------------------------------------------------------------------------------------

-- Grants an unattributed payment to p_user_id through the purchase path (the webhook's own
-- key, 'checkout:<session id>'). The session is the idempotency key: the same call again
-- replays the purchase; another user for an attributed session is PT409.
create or replace function public.attribute_payment(p_stripe_checkout_session_id text, p_user_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_kept public.unattributed_payments;
  v_result jsonb;
begin
  perform private.require_service('Only the service attributes payments.');
  if p_stripe_checkout_session_id is null or p_user_id is null then
    perform private.invalid('p_stripe_checkout_session_id and p_user_id are required.');
  end if;
  -- Locked: a concurrent attribution, or an event of the same session, waits for this one.
  select * into v_kept from public.unattributed_payments u
   where u.stripe_checkout_session_id = p_stripe_checkout_session_id for update;
  if not found then
    raise exception using errcode = '22023',
      message = format('No unattributed payment for checkout session %s.', left(p_stripe_checkout_session_id, 255)),
      hint = 'The session ids are in public.unattributed_payments.';
  end if;
  if v_kept.attributed_at is not null and v_kept.attributed_user_id is distinct from p_user_id then
    raise exception using errcode = 'PT409',
      message = format('Checkout session %s is already attributed to another user.', v_kept.stripe_checkout_session_id),
      detail = format('attributed to %s at %s', coalesce(v_kept.attributed_user_id::text, 'a deleted user'), v_kept.attributed_at),
      hint = 'A session is bought once. Correct a wrong attribution with grant_tokens (a deduction and a grant).';
  end if;
  if v_kept.attributed_at is null and v_kept.refund_or_dispute_event_id is not null then
    raise exception using errcode = '22023',
      message = format('Checkout session %s was refunded or disputed before it was attributed.', v_kept.stripe_checkout_session_id),
      detail = format('event %s', v_kept.refund_or_dispute_event_id),
      hint = 'If tokens are still owed, grant them with grant_tokens.';
  end if;
  if not exists (select 1 from auth.users u where u.id = p_user_id) then
    perform private.invalid(format('Unknown user %s.', p_user_id));
  end if;

  v_result := private.checkout_purchase(v_kept.payload, p_user_id, jsonb_build_object('attributed', true));
  update public.unattributed_payments u
     set attributed_user_id = p_user_id, attributed_at = now(), purchase_transaction_id = (v_result ->> 'transaction_id')::uuid
   where u.stripe_checkout_session_id = v_kept.stripe_checkout_session_id and u.attributed_at is null;
  return v_result;
end;
$$;
revoke execute on function public.attribute_payment(text, uuid) from public, anon, authenticated, service_role;
grant execute on function public.attribute_payment(text, uuid) to service_role;
