-- 0100_month_reuse: let a year reuse unchanged month runs without reading their months
-- again (issue 17; docs/recompute.md "Reuse").
--
-- A year takes a month from a month run whose fingerprint (the month's inputs, profile and
-- scoring version) equals the month's. Most of that fingerprint comes from what the year
-- reads anyway (registry, ballots, discipline, remediation); the per-month tables are what
-- it would read twelve times over. So:
--
-- * every write to a per-month input table notes its transaction and months here
--   (statement triggers, so no write path can forget it);
-- * a month run stores the snapshot it read (`read_snapshot`) and the digest of its
--   per-month rows (`rows_digest`): a month with no note invisible to that snapshot has the
--   same rows, hence the same digest, without reading them;
-- * a month run stores its carry (what the annual rating takes from a month, see
--   scoring/carry.py), so a year rates a reused month without scoring it again.
--
-- The serving role may only read the notes: deleting one could make a changed month look
-- unchanged.

create table input_month_changes (
    xid     xid8 not null default pg_current_xact_id(),
    tbl     text not null,
    month   int   -- yyyymm; NULL = every month (TRUNCATE)
);
create index input_month_changes_month_idx on input_month_changes (month);

-- The notes are written by the owner's function (SECURITY DEFINER, fixed search_path,
-- the table named with its schema): the serving role only reads them, and a temporary
-- table of the same name or an empty search_path cannot divert or break them.
create function input_month_changes_note() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if tg_op = 'TRUNCATE' then
        insert into public.input_month_changes (tbl, month) values (tg_table_name, null);
    elsif tg_op = 'INSERT' then
        insert into public.input_month_changes (tbl, month)
        select distinct tg_table_name, month from new_rows;
    elsif tg_op = 'DELETE' then
        insert into public.input_month_changes (tbl, month)
        select distinct tg_table_name, month from old_rows;
    else
        insert into public.input_month_changes (tbl, month)
        select tg_table_name, month from new_rows union select tg_table_name, month from old_rows;
    end if;
    return null;
end $$;
revoke all on function input_month_changes_note() from public;

do $$
declare
    t text;
begin
    foreach t in array array['task_month_totals', 'supervisor_assessments', 'unit_indicators'] loop
        if to_regclass(t) is null then
            continue;
        end if;
        execute format('create trigger month_changes_insert after insert on %I '
                       'referencing new table as new_rows for each statement '
                       'execute function input_month_changes_note()', t);
        execute format('create trigger month_changes_update after update on %I '
                       'referencing old table as old_rows new table as new_rows '
                       'for each statement execute function input_month_changes_note()', t);
        execute format('create trigger month_changes_delete after delete on %I '
                       'referencing old table as old_rows for each statement '
                       'execute function input_month_changes_note()', t);
        execute format('create trigger month_changes_truncate after truncate on %I '
                       'for each statement execute function input_month_changes_note()', t);
    end loop;
end $$;

-- Transaction ids mean something only in the history that issued them: a database
-- restored from pg_dump into another cluster (or an older copy of this one) counts them
-- from elsewhere, so a snapshot is only compared with notes of the cluster it was taken in
-- (`read_cluster`, pg_control_system().system_identifier) and only when it is not ahead
-- of the current one (its xmax not above the current xmax).
alter table result_runs
    add column read_snapshot pg_snapshot,  -- the snapshot the run's inputs were read in
    add column read_cluster text,           -- the cluster that took it
    add column rows_digest text;            -- a month run: digest of its per-month rows

-- One row per month run: its carry (jobs/carries.py), stored as it is (not compressed:
-- the floats hardly compress and a year reads twelve of them).
create table result_month_carries (
    run_id  bigint primary key references result_runs (id) on delete cascade,
    carry   bytea not null
);
alter table result_month_carries alter column carry set storage external;
