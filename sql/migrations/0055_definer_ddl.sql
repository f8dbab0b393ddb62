-- 0055_definer_ddl: the only DDL the service does at run time, as functions of the owner
-- (issue 18, least privilege; docs/ballots.md "Least privilege in PostgreSQL").
--
-- The serving role (evalsvc_app) owns nothing and is a member of no owning role, so it
-- cannot ALTER, DROP, disable a trigger or grant itself anything. What it must still do:
-- build a recompute's result partitions (create, index, attach), drop an unpublished run's
-- partitions, and refresh the planner's statistics of a big round's tables. Each is one
-- SECURITY DEFINER function owned by the owner, with a fixed search_path, that accepts only
-- the tables it is for; EXECUTE is granted to the serving role only (sql/roles/app_grants.sql).

-- The partition of `parent` for run `run_id`, created empty; the serving role may load it
-- (INSERT, COPY) until it is attached.
create function evalsvc_result_partition_new(parent text, run_id bigint) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    part text := parent || '_r' || run_id;
begin
    if parent not in ('cadre_period_results', 'cadre_year_results', 'result_units') then
        raise exception 'not a partitioned result table: %', parent using errcode = '42501';
    end if;
    if run_id is null or run_id <= 0 then
        raise exception 'not a run: %', run_id using errcode = '22023';
    end if;
    execute format(
        'create table public.%I (like public.%I including defaults, constraint %I check (run_id = %s))',
        part, parent, part || '_run', run_id);
    if exists (select 1 from pg_roles where rolname = 'evalsvc_app') then
        execute format('grant select, insert on public.%I to evalsvc_app', part);
    end if;
    return part;
end $$;

-- Index the loaded partition and attach it; from then on nobody but the owner changes it.
create function evalsvc_result_partition_attach(parent text, run_id bigint) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    part text := parent || '_r' || run_id;
begin
    if parent in ('cadre_period_results', 'cadre_year_results') then
        execute format('create unique index %I on public.%I (cadre_id)', part || '_cadre', part);
        execute format('create index %I on public.%I (unit_id)', part || '_unit', part);
    elsif parent = 'result_units' then
        execute format('create unique index %I on public.%I (annual, month, unit_id)',
                       part || '_key', part);
    else
        raise exception 'not a partitioned result table: %', parent using errcode = '42501';
    end if;
    execute format('alter table public.%I attach partition public.%I for values in (%s)',
                   parent, part, run_id);
    if exists (select 1 from pg_roles where rolname = 'evalsvc_app') then
        -- Reading stays (backups with pg_dump read each partition), writing ends.
        execute format('revoke all on public.%I from evalsvc_app', part);
        execute format('grant select on public.%I to evalsvc_app', part);
    end if;
end $$;

-- Drop run `run_id`'s partitions (an unpublished run being discarded); a published run's
-- results are refused.
create function evalsvc_result_partitions_drop(run_id bigint) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    parent text;
begin
    if exists (select 1 from public.result_published p where p.run_id = $1) then
        raise exception 'run % is published; its results are kept', run_id
            using errcode = '42501';
    end if;
    foreach parent in array array['cadre_period_results', 'cadre_year_results', 'result_units']
    loop
        execute format('drop table if exists public.%I', parent || '_r' || run_id);
    end loop;
end $$;

-- Fresh planner statistics for a big round's tables (ANALYZE needs the owner before
-- PostgreSQL 17's MAINTAIN privilege).
create function evalsvc_analyze_ballot_tables(tables text[]) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    t text;
begin
    foreach t in array tables loop
        if t not in ('ballot_round_targets', 'ballot_round_voters', 'ballots') then
            raise exception 'not a ballot table: %', t using errcode = '42501';
        end if;
        execute format('analyze public.%I', t);
    end loop;
end $$;

revoke all on function evalsvc_result_partition_new(text, bigint) from public;
revoke all on function evalsvc_result_partition_attach(text, bigint) from public;
revoke all on function evalsvc_result_partitions_drop(bigint) from public;
revoke all on function evalsvc_analyze_ballot_tables(text[]) from public;
