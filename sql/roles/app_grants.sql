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
        'cadre_period_results', 'cadre_year_results', 'result_units',
        'input_month_changes'];
    definers constant text[] := array[
        'evalsvc_result_partition_new(text, bigint)',
        'evalsvc_result_partition_attach(text, bigint)',
        'evalsvc_result_partitions_drop(bigint)',
        'evalsvc_analyze_ballot_tables(text[])'];
    f text;
    want text[];
begin
    -- Only tables whose grants differ are touched: a start changes nothing (and takes no
    -- lock) when they are as wanted.
    for r in
        select c.relname, c.relkind,
               coalesce((select array_agg(a.privilege_type order by a.privilege_type)
                         from aclexplode(c.relacl) a
                         where a.grantee = 'evalsvc_app'::regrole), '{}') as have
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S')
          and not c.relispartition
    loop
        if r.relkind = 'S' then
            want := array['SELECT', 'USAGE'];
        elsif r.relkind in ('v', 'm') or r.relname = any (read_only) then
            want := array['SELECT'];
        elsif r.relname = any (append_only) then
            want := array['INSERT', 'SELECT'];
        else
            want := array['DELETE', 'INSERT', 'SELECT', 'UPDATE'];
        end if;
        if r.have is distinct from want then
            execute format('revoke all on %s public.%I from evalsvc_app',
                           case when r.relkind = 'S' then 'sequence' else 'table' end, r.relname);
            execute format('grant %s on %s public.%I to evalsvc_app', array_to_string(want, ', '),
                           case when r.relkind = 'S' then 'sequence' else 'table' end, r.relname);
        end if;
    end loop;
    -- Partitions: SELECT only, never revoked here (one being built keeps its INSERT).
    for r in
        select c.relname
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relispartition
          and not has_table_privilege('evalsvc_app', c.oid, 'select')
    loop
        execute format('grant select on public.%I to evalsvc_app', r.relname);
    end loop;
    foreach f in array definers loop
        if to_regprocedure('public.' || f) is not null
           and not has_function_privilege('evalsvc_app', 'public.' || f, 'execute') then
            execute format('grant execute on function public.%s to evalsvc_app', f);
        end if;
    end loop;
end $grants$;
