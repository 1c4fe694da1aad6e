-- Every pg_cron job: drips and token expiry every 5 minutes, hold expiry every minute, usage
-- partitions ahead daily, a daily reconciliation of the ledger, and a daily clean-up of cron's
-- own history.
-- cron.schedule() with a job name updates the job of that name, so this migration can run
-- twice. Supabase enables pg_cron in pg_catalog (its objects live in schema cron).
create extension if not exists pg_cron with schema pg_catalog;

-- Issue due drips: one batch of up to 5,000 subscriptions, one transaction (about a second).
-- That is 1.4 million cycles a day, enough for some 40 million subscribers on 28-day cycles;
-- a backlog after downtime drains over the next runs. A run that overlaps the next one is
-- safe: each takes only users the other does not hold (SKIP LOCKED).
select cron.schedule('token-drips', '*/5 * * * *', 'select public.run_due_drips(now(), 5000)');

-- Sweep lapsed trial grants, expiring admin grants and drip lots that no longer drip.
select cron.schedule('token-expiry', '*/5 * * * *', 'select public.expire_tokens(now())');

-- Keep 7 days of job history.
select cron.schedule(
  'cron-history-cleanup', '17 3 * * *',
  $$delete from cron.job_run_details where end_time < now() - interval '7 days'$$
);

-- Mark lapsed holds 'expired' (they stop counting at expires_at anyway; this closes them).
select cron.schedule('token-holds', '* * * * *', 'select public.expire_holds(now())');

-- Reconcile every user's ledger, balance, lots and holds once a day and record the run in
-- ledger_reconciliation_runs (status 'ok', or the problems found). The function is defined by
-- the reconciliation migration (a later file); a job's command is only resolved when it runs.
select cron.schedule('ledger-reconciliation', '41 4 * * *', 'select public.run_ledger_reconciliation()');

-- Keep token_usage's partitions three months ahead (public.create_usage_partitions): a
-- month's partition exists long before its first row, so a few failed runs change nothing.
select cron.schedule('token-usage-partitions', '41 2 * * *', 'select public.create_usage_partitions(now())');
