-- The usage row of a settle has a key of its own that nobody can know in advance: a user who
-- knows the hold id cannot take the settle's key first with record_usage and so block the
-- settle (unique_violation), and there is still at most one usage row per hold. (Keys that
-- start with hold: are reserved to the ledger besides: a caller's is 22023.)
begin;
select plan(6);

select tests.create_user('sh-key-alice@example.test', '00000000-0000-4000-b206-000000000001', 100);

select tests.authenticate_as('00000000-0000-4000-b206-000000000001');
select set_config('test.hold', public.reserve_tokens('chat', 40, 'sh-key-hold') ->> 'hold_id', true);
select throws_ok(format('select public.record_usage(''chat'', 1, %L)', 'hold:' || current_setting('test.hold')), '22023', null,
  'a caller''s key spelled like the hold''s is refused: hold: is reserved');
select public.record_usage('chat', 1, 'hold-' || current_setting('test.hold'));
select set_config('test.r', public.settle_hold(current_setting('test.hold')::uuid, 30)::text, true);
select tests.clear_authentication();

select is((current_setting('test.r')::jsonb ->> 'tokens')::bigint, 30::bigint,
  'a usage key spelled like the hold''s does not stop the settle');
select is((select idempotency_key from public.token_usage where hold_id = current_setting('test.hold')::uuid),
  'hold:' || current_setting('test.hold') || ':' || (current_setting('test.r')::jsonb ->> 'usage_id'),
  'the settle''s key is hold:<hold id>:<usage id>');
-- (a trigger, not a unique index: token_usage is partitioned by created_at)
select ok(exists (select 1 from pg_trigger where tgrelid = 'public.token_usage'::regclass and tgname = 'token_usage_one_per_hold'),
  'token_usage keeps one usage row per hold');
select throws_ok(
  $$insert into public.token_usage (user_id, feature, tokens, idempotency_key, request_hash, balance_before, balance_after, hold_id)
    values ('00000000-0000-4000-b206-000000000001', 'chat', 1, 'sh-key-second', 'x', 69, 68, current_setting('test.hold')::uuid)$$,
  '23505', null, 'a second usage row for the hold is refused (even to the superuser)');
select is_empty($$select * from public.verify_token_ledger('00000000-0000-4000-b206-000000000001')$$, 'the ledger is consistent');

select * from finish();
rollback;
