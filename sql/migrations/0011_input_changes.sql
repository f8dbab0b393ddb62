-- Row-level change notes for the per-month tables, so a run can patch a month's pack
-- instead of reading the month again (jobs/reading.py, docs/recompute.md "Patched months").
--
-- A month's pack (input_packs) holds the rows a run read in one snapshot; it now keeps that
-- snapshot. A statement that changes a per-month table notes, in the same transaction, which
-- cadres of which month it changed (or, past 5,000 cadres in a month, the month as a
-- whole), stamped with its transaction id. A later run takes the month's pack, asks which
-- notes its snapshot did not see (pg_visible_in_snapshot) and reads those cadres' rows
-- again: the same rows as reading the whole month, for a fraction of the cost. A note
-- rolls back with its change; a transaction the pack's snapshot did not see is found
-- whatever the order transactions committed in. Unit indicators (3,000 rows a month) are
-- noted per month and read whole.
create table input_changes (
    month       int4,                   -- yyyymm; NULL: every month (TRUNCATE)
    tbl         smallint not null,      -- 1 task_month_totals, 2 supervisor_assessments,
                                        -- 3 unit_indicators
    cadre_id    bigint,                 -- NULL: the month's rows of that table as a whole
    xid         xid8 not null default pg_current_xact_id()
);
create index input_changes_month_idx on input_changes (month);

alter table input_packs add column snapshot pg_snapshot;  -- NULL: not patchable

-- The cadres a statement changed, per month: up to 5,000 of a month one by one, past that the
-- month as a whole (a bulk import: the next run reads that month's table whole anyway). The
-- months past the cap are found by counting rows per month (a primary key holds one row per
-- cadre and month), so a bulk statement never hashes its cadres.
create function input_changes_note() returns trigger language plpgsql as $$
declare
    tbl smallint := tg_argv[0]::smallint;
    big int4[];
begin
    if tg_op = 'TRUNCATE' then
        insert into input_changes (month, tbl, cadre_id) values (null, tbl, null);
        return null;
    end if;
    if tg_op = 'DELETE' then
        select array_agg(month) into big
        from (select month from old_rows group by month having count(*) > 5000) m;
    else
        select array_agg(month) into big
        from (select month from new_rows group by month having count(*) > 5000) m;
    end if;
    big := coalesce(big, '{}');
    insert into input_changes (month, tbl, cadre_id) select m, tbl, null from unnest(big) m;
    if tg_op = 'INSERT' then
        insert into input_changes (month, tbl, cadre_id)
        select month, tbl, cadre_id from new_rows where month <> all(big);
    elsif tg_op = 'UPDATE' then
        insert into input_changes (month, tbl, cadre_id)
        select month, tbl, cadre_id from old_rows where month <> all(big)
        union
        select month, tbl, cadre_id from new_rows where month <> all(big);
    else
        insert into input_changes (month, tbl, cadre_id)
        select month, tbl, cadre_id from old_rows where month <> all(big);
    end if;
    return null;
end $$;

create function input_changes_note_months() returns trigger language plpgsql as $$
declare
    tbl smallint := tg_argv[0]::smallint;
begin
    if tg_op = 'TRUNCATE' then
        insert into input_changes (month, tbl, cadre_id) values (null, tbl, null);
    elsif tg_op = 'INSERT' then
        insert into input_changes (month, tbl) select distinct month, tbl from new_rows;
    elsif tg_op = 'UPDATE' then
        insert into input_changes (month, tbl)
        select month, tbl from old_rows union select month, tbl from new_rows;
    else
        insert into input_changes (month, tbl) select distinct month, tbl from old_rows;
    end if;
    return null;
end $$;

do $$
declare
    t text;
    fn text;
    code int;
begin
    foreach t in array array['task_month_totals', 'supervisor_assessments', 'unit_indicators']
    loop
        code := array_position(
            array['task_month_totals', 'supervisor_assessments', 'unit_indicators'], t);
        fn := case when t = 'unit_indicators' then 'input_changes_note_months'
                   else 'input_changes_note' end;
        execute format(
            'create trigger %1$s_changes_insert after insert on %1$I '
            'referencing new table as new_rows for each statement execute function %2$I(%3$s)',
            t, fn, code);
        execute format(
            'create trigger %1$s_changes_update after update on %1$I '
            'referencing old table as old_rows new table as new_rows '
            'for each statement execute function %2$I(%3$s)',
            t, fn, code);
        execute format(
            'create trigger %1$s_changes_delete after delete on %1$I '
            'referencing old table as old_rows for each statement execute function %2$I(%3$s)',
            t, fn, code);
        execute format(
            'create trigger %1$s_changes_truncate after truncate on %1$I '
            'for each statement execute function %2$I(%3$s)',
            t, fn, code);
    end loop;
end $$;
