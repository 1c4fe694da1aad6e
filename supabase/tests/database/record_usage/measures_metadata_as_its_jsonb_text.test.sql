-- The 16 KiB metadata limit (every RPC that takes p_metadata) is measured on the metadata as
-- PostgreSQL stores and prints it, `octet_length(p_metadata::text)`, not on the bytes the
-- caller sent: jsonb keeps one copy of a repeated key, drops insignificant whitespace and
-- prints one space after each `:` and `,`. At most 16,384 bytes of that text are accepted
-- (docs/api.md, "Errors"). The database never sees the caller's own text.
begin;
select plan(6);

select tests.create_user('ru-metadata-alice@example.test', '00000000-0000-4000-c908-000000000001');
select public.grant_tokens('00000000-0000-4000-c908-000000000001', 100, 'admin_grant', 'c908-grant');

-- {"k": "xxx..."}: 9 bytes around the value
select is(octet_length(jsonb_build_object('k', repeat('x', 16375))::text), 16384, 'the rendered text is 9 bytes longer than the value');

select tests.authenticate_as('00000000-0000-4000-c908-000000000001');
select is(public.record_usage('chat', 1, 'c908-1', p_metadata => jsonb_build_object('k', repeat('x', 16375))) ->> 'replayed',
  'false', '16,384 bytes of jsonb text are accepted');
select throws_ok($$select public.record_usage('chat', 1, 'c908-2', p_metadata => jsonb_build_object('k', repeat('x', 16376)))$$,
  '22023', 'p_metadata must be at most 16 KiB of JSON.', '16,385 bytes are refused');
-- the caller's compact text is 16,384 bytes; jsonb prints a space after each colon and comma
select is(octet_length('{"k":"' || repeat('x', 16370) || '","a":1}'), 16384, 'a compact text of exactly 16 KiB');
select throws_ok(format($$select public.record_usage('chat', 1, 'c908-3', p_metadata => %L::jsonb)$$,
  '{"k":"' || repeat('x', 16370) || '","a":1}'), '22023', null,
  'what counts is the printed text, which may be longer than what was sent');
-- the caller sent 20,000 bytes, mostly whitespace and a repeated key; what is stored is small
select is(public.record_usage('chat', 1, 'c908-4', p_metadata => ('{"k": 1,' || repeat(' ', 19980) || '"k": 2}')::jsonb)
  ->> 'replayed', 'false', 'and may be shorter: whitespace and repeated keys do not count');
select tests.clear_authentication();

select * from finish();
rollback;
