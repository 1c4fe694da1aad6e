-- void_grant is idempotent by key: the same key and request returns the first result with
-- replayed true and writes nothing; the same key for another request is PT409. A grant is
-- voided once: another key for a voided grant is 22023. Bad arguments are 22023 and write
-- nothing: no transaction, an unknown one, one that is not a purchase or grant (usage is not
-- a transaction; expirations, deductions, voids, drips and legacy rows cannot be voided), no
-- reason, no key.
begin;
select plan(14);

select tests.create_user('void-replay@example.test', '00000000-0000-4000-8b08-000000000001');
select public.grant_tokens('00000000-0000-4000-8b08-000000000001', 1000, 'admin_grant', 'void-replay-g1');
select public.grant_tokens('00000000-0000-4000-8b08-000000000001', 10, 'admin_deduction', 'void-replay-d1');
select public.grant_tokens('00000000-0000-4000-8b08-000000000001', 50, 'admin_grant', 'void-replay-g2');
insert into public.token_transactions (user_id, transaction_type, token_amount, balance_before, balance_after, source, is_legacy)
values ('00000000-0000-4000-8b08-000000000001', 'admin_grant', 7, 0, 7, 'legacy', true);
select set_config('test.g1', (select id::text from public.token_transactions where idempotency_key = 'void-replay-g1'), true);
select set_config('test.first', public.void_grant(current_setting('test.g1')::uuid, 'mistake', 'void-replay-k1')::text, true);
select set_config('test.after', tests.ledger_footprint('00000000-0000-4000-8b08-000000000001'), true);

select is(public.void_grant(current_setting('test.g1')::uuid, 'mistake', 'void-replay-k1'),
  jsonb_set(current_setting('test.first')::jsonb, '{replayed}', 'true'), 'the same key and request replays the first result');
select throws_ok(format('select public.void_grant(%L, %L, %L)', current_setting('test.g1'), 'another reason', 'void-replay-k1'),
  'PT409', null, 'the same key with another reason is PT409');
select throws_ok(format('select public.void_grant(%L, %L, %L)',
    (select id from public.token_transactions where idempotency_key = 'void-replay-g2'), 'mistake', 'void-replay-k1'),
  'PT409', null, 'the same key for another grant is PT409');
select throws_ok(format('select public.void_grant(%L, %L, %L)', current_setting('test.g1'), 'mistake', 'void-replay-k2'),
  '22023', format('Transaction %s is already voided.', current_setting('test.g1')), 'a voided grant is not voided again');
select throws_ok($$select public.void_grant('00000000-0000-4000-8b08-0000000000ff', 'x', 'void-replay-k3')$$, '22023', null,
  'an unknown transaction is refused');
select throws_ok($$select public.void_grant(null, 'x', 'void-replay-k4')$$, '22023', null, 'no transaction is refused');
select throws_ok(format('select public.void_grant(%L, %L, %L)',
    (select id from public.token_transactions where idempotency_key = 'void-replay-d1'), 'x', 'void-replay-k5'),
  '22023', null, 'a deduction cannot be voided');
select throws_ok(format('select public.void_grant(%L, %L, %L)',
    (select id from public.token_transactions where transaction_type = 'void' and user_id = '00000000-0000-4000-8b08-000000000001'), 'x', 'void-replay-k6'),
  '22023', null, 'a void cannot be voided');
select throws_ok(format('select public.void_grant(%L, %L, %L)',
    (select id from public.token_transactions where is_legacy and user_id = '00000000-0000-4000-8b08-000000000001'), 'x', 'void-replay-k7'),
  '22023', null, 'a legacy row cannot be voided');
select throws_ok(format('select public.void_grant(%L, %L, %L)',
    (select id from public.token_transactions where idempotency_key = 'void-replay-g2'), '  ', 'void-replay-k8'),
  '22023', null, 'a blank reason is refused');
select throws_ok(format('select public.void_grant(%L, %L, %L)',
    (select id from public.token_transactions where idempotency_key = 'void-replay-g2'), repeat('x', 501), 'void-replay-k9'),
  '22023', null, 'a reason over 500 characters is refused');
select throws_ok(format('select public.void_grant(%L, %L, null)',
    (select id from public.token_transactions where idempotency_key = 'void-replay-g2'), 'x'),
  '22023', null, 'no key is refused');
select is(tests.ledger_footprint('00000000-0000-4000-8b08-000000000001'), current_setting('test.after'),
  'the replay and the refused calls wrote nothing');
select is((select count(*) from public.token_transactions where transaction_type = 'void'
            and user_id = '00000000-0000-4000-8b08-000000000001'), 1::bigint, 'one void');

select * from finish();
rollback;
