-- Paging: each page holds at most p_limit entries and a next_cursor while more follow; the
-- pages together hold every entry exactly once, in the order of one long page, entries written
-- in one transaction (same created_at) included. A cursor is opaque: garbage, or a cursor of
-- another user's statement, is 22023, as are a bad p_limit and p_from after p_to.
begin;
select plan(10);

select tests.create_user('statement-pages@example.test', '00000000-0000-4000-8b03-000000000001');
select tests.create_user('statement-pages-other@example.test', '00000000-0000-4000-8b03-000000000002');
select public.grant_tokens('00000000-0000-4000-8b03-000000000001', 1000, 'admin_grant', 'statement-pages-g');
select public.record_usage('chat', i, 'statement-pages-u' || i, '00000000-0000-4000-8b03-000000000001') from generate_series(1, 10) i;
select public.grant_tokens('00000000-0000-4000-8b03-000000000002', 10, 'admin_grant', 'statement-pages-g2');

create function pg_temp.page(p_cursor text) returns jsonb language sql as $$
  select public.get_token_statement('00000000-0000-4000-8b03-000000000001', p_limit => 3, p_cursor => p_cursor) $$;
create temporary table pages (n int, page jsonb);
insert into pages values (1, pg_temp.page(null));
insert into pages select 2, pg_temp.page(page ->> 'next_cursor') from pages where n = 1;
insert into pages select 3, pg_temp.page(page ->> 'next_cursor') from pages where n = 2;
insert into pages select 4, pg_temp.page(page ->> 'next_cursor') from pages where n = 3;

select results_eq($$select jsonb_array_length(page -> 'entries'), page ->> 'next_cursor' is not null from pages order by n$$,
  $$values (3, true), (3, true), (3, true), (2, false)$$, 'pages of 3, 3, 3 and the last 2, which has no next cursor');
select is(
  (select jsonb_agg(e order by p.n, o) from pages p, jsonb_array_elements(p.page -> 'entries') with ordinality x (e, o)),
  public.get_token_statement('00000000-0000-4000-8b03-000000000001') -> 'entries',
  'the pages, one after another, are exactly the one long page');
select is(
  (select array_agg((e ->> 'tokens')::int order by p.n, o) from pages p, jsonb_array_elements(p.page -> 'entries') with ordinality x (e, o)),
  array[-10, -9, -8, -7, -6, -5, -4, -3, -2, -1, 1000],
  'entries of one transaction come newest first, in the order they were written');
select is(public.get_token_statement('00000000-0000-4000-8b03-000000000001', p_limit => 11) ->> 'next_cursor', null,
  'a page that holds everything has no next cursor');

select throws_ok($$select pg_temp.page('not a cursor')$$, '22023', 'p_cursor is not a cursor of this statement.',
  'a garbage cursor is refused');
select throws_ok(format('select public.get_token_statement(%L, p_cursor => %L)', '00000000-0000-4000-8b03-000000000002',
    (select page ->> 'next_cursor' from pages where n = 1)),
  '22023', null, 'a cursor of another user''s statement is refused');
select throws_ok($$select public.get_token_statement('00000000-0000-4000-8b03-000000000001', p_limit => 0)$$, '22023', null,
  'p_limit 0 is refused');
select throws_ok($$select public.get_token_statement('00000000-0000-4000-8b03-000000000001', p_limit => 1001)$$, '22023', null,
  'p_limit 1001 is refused');
select throws_ok($$select public.get_token_statement('00000000-0000-4000-8b03-000000000001', p_from => now(), p_to => now() - interval '1 day')$$,
  '22023', null, 'p_from after p_to is refused');

-- time window: [p_from, p_to) on created_at (every entry here was written at now())
select is(
  array[jsonb_array_length(public.get_token_statement('00000000-0000-4000-8b03-000000000001', p_from => now()) -> 'entries'),
        jsonb_array_length(public.get_token_statement('00000000-0000-4000-8b03-000000000001', p_to => now()) -> 'entries'),
        jsonb_array_length(public.get_token_statement('00000000-0000-4000-8b03-000000000001', p_to => now() + interval '1 microsecond') -> 'entries')],
  array[11, 0, 11], 'p_from includes its instant, p_to excludes its instant');

select * from finish();
rollback;
