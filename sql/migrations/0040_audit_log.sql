-- 0040_audit_log: who changed what, appended by triggers in the transaction of the change
-- (docs/audit.md).
--
-- Every tracked table has three statement triggers (insert, update, delete) that append one
-- entry per changed row: the actor (from the session setting evalsvc.actor, which the API
-- sets per request and the CLI per command; a change by plain SQL is recorded as the
-- database user), the request id, the object (type, human codes, the unit it belongs to),
-- the action and the row before and after. Because the entries come from triggers, no write
-- path can forget them and they roll back with the change. An update that changes nothing
-- but housekeeping columns (updated_at, search keys, job progress) appends nothing.
--
-- The earlier versions of the inputs are these entries: the history of an assessment is its
-- entries in order (object_type 'assessment', object_key 'C001/2026-06').
--
-- Never tracked: ballots, ballot_ledger, ballot_comments, ballot_round_voters (token hashes)
-- and ballot_tallies, so the log holds no ballot content and nothing that links a voter to a
-- ballot; task_records and task_month_totals (an upload is its task_batches entry).

create table audit_log (
    id          bigint generated always as identity primary key,
    at          timestamptz not null default now(),  -- the transaction's start
    xid         xid8 not null default pg_current_xact_id(),  -- entries of one transaction
    request_id  text,
    actor_kind  text not null,   -- key | user | cli | system | db
    actor_id    text,            -- the key's or user's id
    actor_label text not null default '',
    actor_role  text,
    action      text not null,   -- <object_type>.insert|update|delete, or .<new status>
    object_type text not null,
    object_key  text not null,   -- codes a person reads: 'C001', 'C001/2026-06', a round id
    unit_id     bigint,          -- the unit the object belongs to (scope of history readers)
    before      jsonb,
    after       jsonb
);
create index audit_log_object_idx on audit_log (object_type, object_key, id);
create index audit_log_actor_idx on audit_log (actor_kind, actor_id, id);
create index audit_log_at_idx on audit_log using brin (at);

-- Append-only: the database refuses to change or remove an entry, whoever asks. Privileges
-- are revoked from PUBLIC here; the least-privilege roles (issue 18) grant the service role
-- insert and select only.
create function audit_log_refuse() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only: % refused', tg_op
        using errcode = '42501', constraint = 'audit_log_append_only';
end $$;
create trigger audit_log_no_update before update or delete on audit_log
    for each row execute function audit_log_refuse();
create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_refuse();
revoke update, delete, truncate on audit_log from public;

-- The session's actor: {kind, id, label, role}; unset (plain SQL): the database user.
create function audit_actor() returns jsonb language sql stable as $$
    select coalesce(
        nullif(current_setting('evalsvc.actor', true), '')::jsonb,
        jsonb_build_object('kind', 'db', 'label', session_user::text))
$$;

-- Track table `tbl`: entries of `object_type`, keyed by `key_expr` and placed in the unit
-- `unit_expr` (SQL over the row alias r), without the `hidden` columns. Rows of an update are
-- paired by the primary key. Later migrations call it for their tables (users, ...).
create function audit_track(
    tbl regclass, object_type text, key_expr text, unit_expr text, hidden text[]
) returns void language plpgsql as $$
declare
    fn text := 'audit_' || replace(tbl::text, '.', '_');
    pk text[];
    pair text;
    cols text := 'request_id, actor_kind, actor_id, actor_label, actor_role, action, '
                 'object_type, object_key, unit_id, before, after';
    who text := 'rid, a->>''kind'', a->>''id'', coalesce(a->>''label'', ''''), a->>''role''';
    hide text := quote_literal(hidden::text) || '::text[]';
begin
    select array_agg(att.attname::text order by k.n) into pk
    from pg_index i
    cross join lateral unnest(i.indkey) with ordinality k(num, n)
    join pg_attribute att on att.attrelid = i.indrelid and att.attnum = k.num
    where i.indrelid = tbl and i.indisprimary;
    if pk is null then
        raise exception 'audit_track: % has no primary key', tbl;
    end if;
    select string_agg(format('o.%1$I = r.%1$I', c), ' and ') into pair from unnest(pk) c;
    execute format($f$
        create function %1$I() returns trigger language plpgsql as $body$
        declare
            a jsonb := audit_actor();
            rid text := nullif(current_setting('evalsvc.request_id', true), '');
        begin
            if tg_op = 'INSERT' then
                insert into audit_log (%2$s)
                select %3$s, %4$L || '.insert', %4$L, %5$s, %6$s, null, to_jsonb(r) - %7$s
                from new_rows r;
            elsif tg_op = 'DELETE' then
                insert into audit_log (%2$s)
                select %3$s, %4$L || '.delete', %4$L, %5$s, %6$s, to_jsonb(r) - %7$s, null
                from old_rows r;
            else
                insert into audit_log (%2$s)
                select %3$s,
                       %4$L || '.' || coalesce(
                           case when o.j->'status' is distinct from n.j->'status'
                                then n.j->>'status' end,
                           case when o.j->'state' is distinct from n.j->'state'
                                then n.j->>'state' end,
                           'update'),
                       %4$L, %5$s, %6$s, o.j, n.j
                from new_rows r
                cross join lateral (select to_jsonb(r) - %7$s as j) n
                join (select o.*, to_jsonb(o) - %7$s as j from old_rows o) o on %8$s
                where o.j is distinct from n.j;
            end if;
            return null;
        end $body$
    $f$, fn, cols, who, object_type, key_expr, unit_expr, hide, pair);
    execute format(
        'create trigger audit_insert after insert on %1$s referencing new table as new_rows '
        'for each statement execute function %2$I()', tbl, fn);
    execute format(
        'create trigger audit_update after update on %1$s '
        'referencing old table as old_rows new table as new_rows '
        'for each statement execute function %2$I()', tbl, fn);
    execute format(
        'create trigger audit_delete after delete on %1$s referencing old table as old_rows '
        'for each statement execute function %2$I()', tbl, fn);
end $$;

-- yyyymm as YYYY-MM, the form the API uses.
create function audit_month(m int4) returns text language sql immutable as $$
    select (m / 100)::text || '-' || lpad((m % 100)::text, 2, '0')
$$;

create function audit_cadre_code(id bigint) returns text language sql stable as $$
    select code from cadres where cadres.id = $1
$$;

create function audit_cadre_unit(id bigint) returns bigint language sql stable as $$
    select unit_id from cadres where cadres.id = $1
$$;

create function audit_unit_code(id bigint) returns text language sql stable as $$
    select code from units where units.id = $1
$$;

select audit_track('units', 'unit', 'r.code', 'r.id',
                   '{created_at,updated_at,name_key,search_text}');
select audit_track('cadres', 'cadre', 'r.code', 'r.unit_id',
                   '{created_at,updated_at,name_key,search_text}');
select audit_track('peer_groups', 'peer_group', 'r.code', 'null::bigint', '{}');
select audit_track('unit_outstanding_years', 'unit_outstanding_year',
                   'audit_unit_code(r.unit_id) || ''/'' || r.year', 'r.unit_id', '{}');
select audit_track('cadre_unit_moves', 'cadre_move',
                   'audit_cadre_code(r.cadre_id) || ''/'' || r.effective_date', 'r.to_unit_id',
                   '{recorded_at}');
select audit_track('supervisor_assessments', 'assessment',
                   'audit_cadre_code(r.cadre_id) || ''/'' || audit_month(r.month)',
                   'audit_cadre_unit(r.cadre_id)', '{updated_at}');
select audit_track('discipline_records', 'discipline',
                   'audit_cadre_code(r.cadre_id) || ''/'' || r.track || ''/'' || r.violation_id',
                   'audit_cadre_unit(r.cadre_id)', '{created_at,updated_at}');
select audit_track('remediation_items', 'remediation', 'r.id::text',
                   'coalesce(r.unit_id, audit_cadre_unit(r.cadre_id))', '{created_at,updated_at}');
select audit_track('confidence_votes', 'confidence_vote',
                   'audit_cadre_code(r.cadre_id) || ''/'' || r.vote_date',
                   'audit_cadre_unit(r.cadre_id)', '{updated_at}');
select audit_track('unit_indicators', 'unit_indicator',
                   'audit_unit_code(r.unit_id) || ''/'' || audit_month(r.month)', 'r.unit_id',
                   '{updated_at}');
select audit_track('api_keys', 'api_key', 'r.prefix', 'r.unit_id', '{secret_hash}');
select audit_track('catalogs', 'catalog', 'r.name || '' v'' || r.version', 'null::bigint', '{}');
select audit_track('ballot_rounds', 'ballot_round', 'r.id::text', 'r.unit_id', '{}');
select audit_track('task_batches', 'task_upload', 'r.id::text', 'null::bigint', '{}');
select audit_track('recompute_jobs', 'recompute_job', 'r.id::text', 'r.scope_unit_id',
                   '{stage,percent,timings,counts,profile,started_at}');
select audit_track('result_published', 'publication', 'r.period', 'null::bigint', '{}');
select audit_track('ballot_uploads', 'ballot_upload', 'r.round_id || ''/'' || r.idempotency_key',
                   '(select unit_id from ballot_rounds where id = r.round_id)', '{}');
