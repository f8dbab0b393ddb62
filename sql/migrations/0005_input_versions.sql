-- 0005_input_versions: change markers for the recomputation's inputs (docs/recompute.md,
-- "Change markers"). The recomputation compares (month, version) pairs with those of an earlier
-- run to know, without reading the input tables, whether a month's inputs may have changed.
--
-- input_versions.month is yyyymm for a change to rows of that month, or 0 for a change that
-- can affect every month (the registry and the year-wide tables). Versions come from one
-- sequence, so a (month, version) pair is never written twice: a rolled-back transaction or a
-- later revert of the data cannot bring an old pair back.
--
-- Triggers note the months a statement changed; the markers are written once per transaction
-- at its commit (a deferred constraint trigger), not by each statement. So a long transaction
-- (a task ingest, a ballot close) holds the lock on a marker row only while it commits, and
-- other writers of the same month are not queued behind it; and a transaction writes its
-- markers in one statement in month order, so two committing writers cannot deadlock on them.

create sequence input_version_seq;

create table input_versions (
    month   int4 primary key,  -- yyyymm, or 0: a change that can affect every month
    version int8 not null
);

-- Months changed by the open transaction, until its commit. input_versions_flush deletes its
-- transaction's rows before the commit, so no session ever sees another's rows; with no
-- unique index, concurrent writers never wait on each other here.
create table input_versions_pending (
    month   int4 not null
);

-- Give every month of `months` a fresh version (one nextval for all of them), in month order.
-- The stored version is overwritten, not raised with greatest(): two transactions may commit
-- in the other order than they drew their values, and keeping the larger value would hide the
-- later commit from a reader who saw the earlier one. A changed value is what signals.
create function input_versions_bump(months int4[]) returns void language plpgsql as $$
declare
    v int8;
begin
    if coalesce(cardinality(months), 0) = 0 then
        return;
    end if;
    v := nextval('input_version_seq');
    insert into input_versions (month, version)
    select distinct m, v from unnest(months) m order by m
    on conflict (month) do update set version = excluded.version;
end $$;

-- Remember `months` until the commit (each month once per transaction).
create function input_versions_note(months int4[]) returns void language plpgsql as $$
begin
    if months is null then  -- array_agg over no rows: the statement changed nothing
        return;
    end if;
    insert into input_versions_pending (month)
    select m from unnest(months) m
    except
    select month from input_versions_pending;
end $$;

-- At the commit: bump every month the transaction noted. One event per pending row; the
-- first takes them all and the others find nothing left.
create function input_versions_flush() returns trigger language plpgsql as $$
declare
    months int4[];
begin
    with taken as (delete from input_versions_pending returning month)
    select array_agg(distinct month) into months from taken;
    perform input_versions_bump(months);
    return null;
end $$;

create constraint trigger input_versions_flush after insert on input_versions_pending
    deferrable initially deferred for each row execute function input_versions_flush();

-- Per-month tables (an int `month` column, yyyymm): the distinct months of the rows the
-- statement inserted, updated (old and new month) or deleted. TRUNCATE: every month.
-- Each branch names only the transition tables its trigger declares (PostgreSQL allows
-- transition tables only on single-event triggers).
create function input_versions_note_months() returns trigger language plpgsql as $$
declare
    months int4[];
begin
    if tg_op = 'INSERT' then
        select array_agg(distinct month) into months from new_rows;
    elsif tg_op = 'UPDATE' then
        select array_agg(distinct month) into months
        from (select month from old_rows union all select month from new_rows) r;
    elsif tg_op = 'DELETE' then
        select array_agg(distinct month) into months from old_rows;
    else
        months := '{0}';
    end if;
    perform input_versions_note(months);
    return null;
end $$;

-- Every-month tables: month 0, when the statement changed at least one row (or truncated).
create function input_versions_note_all() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        if exists (select from new_rows) then
            perform input_versions_note('{0}');
        end if;
    elsif tg_op = 'UPDATE' then
        if exists (select from new_rows) then
            perform input_versions_note('{0}');
        end if;
    elsif tg_op = 'DELETE' then
        if exists (select from old_rows) then
            perform input_versions_note('{0}');
        end if;
    else
        perform input_versions_note('{0}');
    end if;
    return null;
end $$;

-- The tables jobs/inputs.py reads (directly or through the views ballot_form_items and
-- ballot_flags), plus catalogs and peer_groups: registry tables it does not read today
-- (it reads cadres.peer_group_id and catalog_items), marked so a reader added later is covered.
-- Not marked: confidence_votes, on purpose: the year run always reads it fresh and it does not
-- enter month scores. task_records is not marked either: the recomputation reads only
-- task_month_totals, which the ingestion moves in the same transaction.
do $$
declare
    t text;
    fn text;
begin
    foreach t in array array[
        'task_month_totals', 'supervisor_assessments', 'unit_indicators',
        'cadres', 'units', 'peer_groups', 'unit_outstanding_years', 'employment_spells',
        'absences', 'remediation_items', 'discipline_records', 'catalogs', 'catalog_items',
        'ballot_rounds', 'ballot_tallies']
    loop
        fn := case when t in ('task_month_totals', 'supervisor_assessments', 'unit_indicators')
                   then 'input_versions_note_months' else 'input_versions_note_all' end;
        execute format(
            'create trigger %1$s_versions_insert after insert on %1$I '
            'referencing new table as new_rows for each statement execute function %2$I()',
            t, fn);
        execute format(
            'create trigger %1$s_versions_update after update on %1$I '
            'referencing old table as old_rows new table as new_rows '
            'for each statement execute function %2$I()',
            t, fn);
        execute format(
            'create trigger %1$s_versions_delete after delete on %1$I '
            'referencing old table as old_rows for each statement execute function %2$I()',
            t, fn);
        execute format(
            'create trigger %1$s_versions_truncate after truncate on %1$I '
            'for each statement execute function %2$I()',
            t, fn);
    end loop;
end $$;
