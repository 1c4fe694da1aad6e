-- pgt-ignore-all lint/safety/lockTimeoutWarning: the scratch migration below runs inside the test's transaction and is rolled back; its tables are locked first on purpose
-- pgt-ignore-all lint/safety/runningStatementWhileHoldingAccessExclusive: the same: the locks are the test's own, held until its rollback
-- pgt-ignore-all lint/safety/multipleAlterTable: the scratch migration breaks the rules one statement at a time, as a careless migration would
-- pgt-ignore-all lint/safety/addingForeignKeyConstraint: the scratch foreign key is the bad object under test, rolled back
-- The ledger is ready to be distributed by user (Citus, docs/scaling.md), and a migration
-- cannot quietly undo that. Read from the catalog, over every table of public and private:
--   * every table is a catalog (reference table), a global table (Stripe's directory of
--     events, customers, subscriptions and unattributed payments; the reconciliation runs'
--     log), or per-user: a NOT NULL uuid user_id;
--   * every unique index (primary keys too) of a per-user table has user_id among its keys,
--     so uniqueness can be checked on the shard that holds the user;
--   * a foreign key between per-user tables joins on user_id (the rows are colocated);
--     catalogs and global tables point at no per-user table; catalogs carry no user_id.
-- No table breaks them (docs/scaling.md, "Ready to distribute by user"). Then a scratch
-- migration adds a bad unique index, a per-user table without user_id and a foreign key off
-- user_id; each is caught, and rolling it back leaves no violation.
begin;
select plan(6);

create temporary table table_classes (tbl text primary key, class text not null) on commit drop;
insert into table_classes values
  ('public.token_features', 'reference'),
  ('public.token_packs', 'reference'),
  ('public.subscription_plans', 'reference'),
  ('public.ledger_settings', 'reference'),
  ('public.stripe_events', 'global'),
  ('public.unattributed_payments', 'global'),
  ('public.stripe_customers', 'global'),
  ('public.stripe_subscriptions', 'global'),
  ('public.ledger_reconciliation_runs', 'global');

create function pg_temp.readiness_violations()
returns table (object text, rule text)
language plpgsql
stable
as $$
begin
  return query
  with tables as (
    select c.oid, format('%I.%I', n.nspname, c.relname) as tbl,
           coalesce(k.class,
             case when exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'user_id' and not a.attisdropped)
                  then 'per_user' else 'unclassified' end) as class
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join table_classes k on k.tbl = format('%I.%I', n.nspname, c.relname)
    where c.relkind in ('r', 'p') and not c.relispartition and n.nspname in ('public', 'private')
  ),
  user_col as (
    select t.oid, a.attnum, a.atttypid, a.attnotnull
    from tables t join pg_attribute a on a.attrelid = t.oid and a.attname = 'user_id' and not a.attisdropped
  ),
  fks as (
    select con.conname, con.conkey, con.confkey, t.tbl, t.class, r.tbl as ref_tbl, r.class as ref_class, t.oid, r.oid as ref_oid
    from pg_constraint con
    join tables t on t.oid = con.conrelid
    join tables r on r.oid = con.confrelid
    where con.contype = 'f' and con.conparentid = 0
  )
  select t.tbl, 'unclassified: no user_id, and not a listed catalog or global table'
    from tables t where t.class = 'unclassified'
  union all
  select t.tbl, 'per-user table whose user_id is not a NOT NULL uuid'
    from tables t left join user_col u on u.oid = t.oid
   where t.class = 'per_user' and (u.oid is null or u.atttypid <> 'uuid'::regtype or not u.attnotnull)
  union all
  select t.tbl, 'a catalog with a user_id column'
    from tables t join user_col u on u.oid = t.oid where t.class = 'reference'
  union all
  select t.tbl || '.' || quote_ident(ic.relname), 'unique index of a per-user table without user_id among its keys'
    from tables t
    join pg_index i on i.indrelid = t.oid and i.indisunique
    join pg_class ic on ic.oid = i.indexrelid
    left join user_col u on u.oid = t.oid
   where t.class = 'per_user'
     and (u.attnum is null or not (u.attnum = any ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
  union all
  select format('%s.%I', f.tbl, f.conname), 'foreign key between per-user tables not joined on user_id'
    from fks f
   where f.class = 'per_user' and f.ref_class = 'per_user'
     and not exists (select 1 from unnest(f.conkey, f.confkey) as k (a, b)
                     join pg_attribute pa on pa.attrelid = f.oid and pa.attnum = k.a
                     join pg_attribute pb on pb.attrelid = f.ref_oid and pb.attnum = k.b
                     where pa.attname = 'user_id' and pb.attname = 'user_id')
  union all
  select format('%s.%I', f.tbl, f.conname), 'a catalog or global table references a per-user table'
    from fks f where f.class in ('reference', 'global') and f.ref_class = 'per_user'
  union all
  select format('%s.%I', f.tbl, f.conname), 'a catalog references a table that is not a catalog'
    from fks f where f.class = 'reference' and f.ref_class <> 'reference';
end
$$;

select is_empty($$select object from pg_temp.readiness_violations() where rule like 'unclassified%'$$,
  'every table is a catalog, a global table or per-user (user_id)');
select is_empty($$select object, rule from pg_temp.readiness_violations()$$,
  'no table breaks a distribution rule (docs/scaling.md)');

-- A scratch migration that breaks each rule, rolled back afterwards. The tables it alters are
-- locked first, all or none: other test files run at the same time, and `lock table a, b, c`
-- takes the locks one by one, waiting for each while holding the earlier ones, which deadlocked
-- with a file writing those tables. So each try takes all three with NOWAIT inside a
-- subtransaction; a try that finds one busy gives back what it took and tries again (bounded).
do $$
begin
  for i in 1..3000 loop
    begin
      lock table public.token_lots, public.token_holds, public.token_transactions in access exclusive mode nowait;
      return;
    exception when lock_not_available then
      perform pg_sleep(0.02);
    end;
  end loop;
  raise exception 'could not lock the scratch migration''s tables within 60 s';
end
$$;
savepoint scratch_migration;
-- (id among the keys keeps it unique whatever rows the database holds: two grants in one
-- transaction, as the seed makes, share source and created_at; user_id is still missing.)
create unique index scratch_lots_source_key on public.token_lots (source, created_at, id);
create table public.scratch_notes (id uuid primary key, note text);
select set_eq(
  $$select object, rule from pg_temp.readiness_violations()$$,
  $$values ('public.token_lots.scratch_lots_source_key', 'unique index of a per-user table without user_id among its keys'),
           ('public.scratch_notes', 'unclassified: no user_id, and not a listed catalog or global table')$$,
  'a unique index without user_id and a table without user_id are caught');
rollback to savepoint scratch_migration;

savepoint scratch_migration;
alter table public.token_holds add column scratch_transaction_id uuid;
create unique index scratch_transactions_id_key on public.token_transactions (id);
alter table public.token_holds add constraint scratch_holds_transaction_fkey
  foreign key (scratch_transaction_id) references public.token_transactions (id);
select set_eq(
  $$select object, rule from pg_temp.readiness_violations()$$,
  $$values ('public.token_transactions.scratch_transactions_id_key', 'unique index of a per-user table without user_id among its keys'),
           ('public.token_holds.scratch_holds_transaction_fkey', 'foreign key between per-user tables not joined on user_id')$$,
  'a foreign key between per-user tables off user_id is caught');
rollback to savepoint scratch_migration;

select is_empty($$select object, rule from pg_temp.readiness_violations()$$,
  'rolling the scratch migration back leaves no violation');
select is((select count(*)::int from pg_class where relname like 'scratch%'), 0, 'nothing of the scratch migration is left');

select * from finish();
rollback;
