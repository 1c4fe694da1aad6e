-- What the one hot user's lock is doing (bench/96-hot-user.sh), sampled every 5 ms for
-- :seconds seconds from pg_stat_activity: in each sample, the pgbench session that holds the
-- user's lock (it has written, so it has a transaction id, and it is not waiting for a lock;
-- a waiter just woken counts as the next holder) is running SQL, flushing WAL at commit, or
-- idle in its transaction waiting for the client's next command (the COMMIT); or no session
-- holds it (a hand-off: the lock was released and the next waiter is not running yet).
-- Prints one line per state: state, samples, share.
\set ON_ERROR_STOP on
create temp table samples (state text);
select set_config('bench.sample_seconds', :'seconds', false) \gset
do $$
declare
  v_end timestamptz := clock_timestamp() + make_interval(secs => current_setting('bench.sample_seconds')::double precision);
begin
  while clock_timestamp() < v_end loop
    insert into samples
    select coalesce((
      select case
               when a.state like 'idle in transaction%' then 'holder idle in transaction (waiting for the client)'
               when a.wait_event in ('WALSync', 'WALWrite', 'WALWriteLock', 'WALInsert') then 'holder flushing WAL (commit)'
               when a.wait_event_type is null then 'holder running (on a CPU or waiting for one)'
               else 'holder waiting: ' || a.wait_event_type || '/' || a.wait_event
             end
        from pg_catalog.pg_stat_activity a
       where a.application_name = 'pgbench' and a.backend_xid is not null
         and a.wait_event_type is distinct from 'Lock'
       order by a.xact_start limit 1), 'no holder (hand-off or client side)');
    perform pg_catalog.pg_stat_clear_snapshot(); -- pg_stat_activity is otherwise read once per transaction
    perform pg_catalog.pg_sleep(0.005);
  end loop;
end
$$;
select s.state, count(*), round(count(*)::numeric / sum(count(*)) over (), 3) from samples s group by s.state order by 2 desc;
