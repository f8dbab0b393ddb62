-- What the serving role (evalsvc_app) may do, applied after every migration run and role
-- set-up (store/roles.py: grant_app), idempotent, as the owner or a superuser.
-- docs/ballots.md "Least privilege in PostgreSQL".
--
-- The serving role owns nothing: no ALTER, DROP, TRIGGER, TRUNCATE or REFERENCES anywhere.
-- Rows: read and write, except
--   * append-only tables (history, ballots' evidence): SELECT, INSERT;
--   * the migration records and fixed code lists: SELECT;
--   * result partitions: SELECT (pg_dump reads each one; a partition being built gets
--     INSERT from evalsvc_result_partition_new until it is attached);
--   * the result parents: SELECT (rows are written into a new partition only).
-- DDL at run time goes through the SECURITY DEFINER functions of 0055.
do $grants$
declare
    r record;
    append_only constant text[] := array[
        'audit_log', 'ballot_ledger', 'ballot_receipts', 'ballot_comments', 'ballot_tallies',
        'ballot_slip_downloads', 'result_reason_sets', 'result_reason_codes'];
    read_only constant text[] := array[
        'schema_migrations', 'schema_views', 'result_levels',
        'cadre_period_results', 'cadre_year_results', 'result_units'];
    definers constant text[] := array[
        'evalsvc_result_partition_new(text, bigint)',
        'evalsvc_result_partition_attach(text, bigint)',
        'evalsvc_result_partitions_drop(bigint)',
        'evalsvc_analyze_ballot_tables(text[])'];
    f text;
begin
    for r in
        select c.relname, c.relkind
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S')
          and not c.relispartition
    loop
        execute format('revoke all on public.%I from evalsvc_app', r.relname);
        if r.relkind = 'S' then
            execute format('grant usage, select on sequence public.%I to evalsvc_app', r.relname);
        elsif r.relkind in ('v', 'm') or r.relname = any (read_only) then
            execute format('grant select on public.%I to evalsvc_app', r.relname);
        elsif r.relname = any (append_only) then
            execute format('grant select, insert on public.%I to evalsvc_app', r.relname);
        else
            execute format('grant select, insert, update, delete on public.%I to evalsvc_app',
                           r.relname);
        end if;
    end loop;
    -- Partitions: SELECT only, never revoked here (one being built keeps its INSERT).
    for r in
        select c.relname
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relispartition
    loop
        execute format('grant select on public.%I to evalsvc_app', r.relname);
    end loop;
    foreach f in array definers loop
        if to_regprocedure('public.' || f) is not null then
            execute format('grant execute on function public.%s to evalsvc_app', f);
        end if;
    end loop;
end $grants$;
