-- Ledger settings: one row of operator-tunable values that the ledger reads at run time.
--
-- Each feature adds its own columns here (with a default and a CHECK), never a table of its
-- own, so an operator finds every knob in one place. The row is read by service_role (and by
-- the ledger's own functions) and changed only through update_ledger_settings(), which knows
-- no column names: a column added later is settable at once, and its CHECK is the validation.

create table if not exists public.ledger_settings (
  -- One row: the primary key can only be true.
  id boolean primary key default true check (id),
  -- Low-balance alerts (token_alerts): the threshold of users who set none; 0 turns the
  -- default off. Users choose their own between the min and the max.
  low_balance_threshold bigint not null default 10000 check (low_balance_threshold between 0 and 1000000000000000),
  low_balance_threshold_min bigint not null default 0 check (low_balance_threshold_min >= 0),
  low_balance_threshold_max bigint not null default 100000000 check (low_balance_threshold_max <= 1000000000000000),
  -- Sign-up trials (20261128210100_signup_trials.sql): the tokens every new user is granted as a
  -- trial_grant; 0 (the default) turns trials off, so an operator turns them on.
  trial_tokens bigint not null default 0 check (trial_tokens between 0 and 1000000000000000),
  -- How long trial tokens last after the grant (null: they never expire). Days and time only,
  -- as drip intervals: a month is no fixed length.
  trial_lifetime interval default interval '14 days' check (
    trial_lifetime is null
    or (trial_lifetime > interval '0' and extract(year from trial_lifetime) = 0 and extract(month from trial_lifetime) = 0)
  ),
  updated_at timestamptz not null default now(),
  constraint ledger_settings_low_balance_limits_check check (low_balance_threshold_min <= low_balance_threshold_max)
);
insert into public.ledger_settings (id) values (true) on conflict (id) do nothing;

comment on table public.ledger_settings is
  'One row of ledger settings. Read by service_role; changed only through update_ledger_settings(p_changes).';

alter table public.ledger_settings enable row level security;
revoke all on table public.ledger_settings from anon, authenticated, service_role;
grant select on table public.ledger_settings to service_role;

-- update_ledger_settings: set some columns of the settings row, leave the others.
--   p_changes: a JSON object {column: value}; unknown or read-only keys, values of the wrong
--   type and values a CHECK refuses are 22023, and nothing changes.
-- Setting a value is idempotent by nature (the same request leaves the same row), so no key.
create or replace function public.update_ledger_settings(p_changes jsonb)
returns jsonb
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row public.ledger_settings;
  v_unknown text;
  v_state text;
  v_message text;
begin
  perform private.require_service('Only the service changes the ledger settings.');
  if p_changes is null or jsonb_typeof(p_changes) <> 'object' or p_changes = '{}'::jsonb then
    perform private.invalid('p_changes must be a JSON object of the settings to change, e.g. {"low_balance_threshold": 5000}.');
  end if;
  select string_agg(k.key, ', ' order by k.key) into v_unknown
    from jsonb_object_keys(p_changes) k (key)
   where k.key in ('id', 'updated_at')
      or not exists (select 1 from pg_catalog.pg_attribute a
                      where a.attrelid = 'public.ledger_settings'::regclass and a.attname = k.key
                        and a.attnum > 0 and not a.attisdropped);
  if v_unknown is not null then
    raise exception using errcode = '22023', message = format('Unknown or read-only settings: %s.', v_unknown),
      hint = 'The settings are the columns of public.ledger_settings (except id and updated_at).';
  end if;

  select * into strict v_row from public.ledger_settings s where s.id for update;
  begin
    v_row := jsonb_populate_record(v_row, p_changes);
    v_row.updated_at := now();
    -- The whole row is written back without naming columns, so a column added later needs
    -- no change here; the row lock above keeps concurrent updates in order.
    delete from public.ledger_settings s where s.id;
    insert into public.ledger_settings select v_row.*;
  exception when others then
    get stacked diagnostics v_state = returned_sqlstate, v_message = message_text;
    raise exception using errcode = '22023', message = format('Invalid settings: %s', v_message),
      detail = format('SQLSTATE %s', v_state), hint = 'Check the value''s type and the limits in the column''s CHECK.';
  end;
  return to_jsonb(v_row);
end;
$$;

revoke execute on function public.update_ledger_settings(jsonb) from public, anon, authenticated, service_role;
grant execute on function public.update_ledger_settings(jsonb) to service_role;
