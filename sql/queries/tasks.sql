-- name: create_staging
-- Per ingest transaction (temporary: no WAL): the block being written, and its changed rows.
-- Joins to task_records must probe task_records_pkey per staged row, never hash all of it.
-- task_staging has task_records' columns in the same order, with row_no in batch_id's place,
-- so one binary COPY payload serves both (only the last 8 bytes of each row differ).
create temp table task_staging (
    source_system       text collate "C" not null,
    external_id         text collate "C" not null,
    cadre_id            bigint not null,
    month               int not null,
    product_code        text not null,
    k                   double precision not null,
    assigned            double precision not null,
    done                double precision not null,
    exceeded            boolean not null,
    errors_counted      int not null,
    errors_objective    int not null,
    errors_confirmed_by text,
    delays_counted      int not null,
    delays_objective    int not null,
    delays_confirmed_by text,
    row_no              bigint not null
) on commit drop;
create temp table task_totals_delta (
    cadre_id            bigint not null,
    month               int not null,
    records             bigint not null,
    k_assigned          bigint not null,
    k_done              bigint not null,
    k_done_quality      bigint not null,
    k_done_timely       bigint not null,
    exceeded_records    bigint not null,
    late_records        bigint not null,
    k_done_exceeded     bigint not null,
    k_done_late         bigint not null
) on commit drop;
create temp table task_changed (
    like task_staging,
    existed         boolean not null,
    old_cadre_id    bigint,
    old_month       int,
    old_k           double precision,
    old_assigned    double precision,
    old_done        double precision,
    old_exceeded    boolean,
    old_errors      int,
    old_delays      int,
    old_batch_id    bigint
) on commit drop;
-- Plans must probe task_records_pkey per staged row whatever the statistics say (a temp
-- table has none; a freshly loaded task_records may have stale ones): a hash join or a
-- sequential scan of millions of rows per block would be disastrous.
set local enable_hashjoin = off;
set local enable_mergejoin = off;
set local enable_seqscan = off;
-- More memory for the staging tables, where the session may still choose it: once a session
-- has used temporary tables (another upload's key table, say) PostgreSQL refuses to change
-- temp_buffers, and the upload then goes on with the session's own.
do $$
begin
    set local temp_buffers = '64MB';
exception when invalid_parameter_value then
    null;
end $$

-- name: lock_ingest
-- Task writes are serialised: the replaced rows read by diff_block must not change under us.
select pg_advisory_xact_lock(7301)

-- name: new_batch
insert into task_batches (key_id, origin, format) values ($1, $2, $3) returning id

-- name: finish_batch
update task_batches set rows_received = $2, rows_inserted = $3, rows_updated = $4 where id = $1

-- name: totals_add
-- The sums waiting in task_totals_delta (one row per cadre and month of each block of new
-- rows, copied by the ingester, or of each diff of staged rows: summed again over them);
-- task_month_totals_pkey for the upsert.
insert into task_month_totals as m (
    cadre_id, month, records, k_assigned, k_done, k_done_quality, k_done_timely,
    exceeded_records, late_records, k_done_exceeded, k_done_late)
select cadre_id, month, sum(records), sum(k_assigned), sum(k_done), sum(k_done_quality),
       sum(k_done_timely), sum(exceeded_records), sum(late_records), sum(k_done_exceeded),
       sum(k_done_late)
from task_totals_delta
group by cadre_id, month
on conflict (cadre_id, month) do update set
    records = m.records + excluded.records,
    k_assigned = m.k_assigned + excluded.k_assigned,
    k_done = m.k_done + excluded.k_done,
    k_done_quality = m.k_done_quality + excluded.k_done_quality,
    k_done_timely = m.k_done_timely + excluded.k_done_timely,
    exceeded_records = m.exceeded_records + excluded.exceeded_records,
    late_records = m.late_records + excluded.late_records,
    k_done_exceeded = m.k_done_exceeded + excluded.k_done_exceeded,
    k_done_late = m.k_done_late + excluded.k_done_late,
    updated_at = now()

-- name: diff_block
-- Staged rows that are new or differ from the stored row, with the stored values they replace.
-- The LATERAL ... LIMIT 1 can only run as one task_records_pkey probe per staged row, whatever
-- the statistics say.
insert into task_changed
select s.*, t.source_system is not null, t.cadre_id, t.month, t.k, t.assigned, t.done,
       t.exceeded, t.errors_counted, t.delays_counted, t.batch_id
from task_staging s
left join lateral (
    select r.source_system, r.cadre_id, r.month, r.product_code, r.k, r.assigned, r.done,
           r.exceeded, r.errors_counted, r.errors_objective, r.errors_confirmed_by,
           r.delays_counted, r.delays_objective, r.delays_confirmed_by, r.batch_id
    from task_records r
    where r.source_system = s.source_system and r.external_id = s.external_id
    limit 1
) t on true
where t.source_system is null
   or (t.cadre_id, t.month, t.product_code, t.k, t.assigned, t.done, t.exceeded,
       t.errors_counted, t.errors_objective, t.errors_confirmed_by, t.delays_counted,
       t.delays_objective, t.delays_confirmed_by)
      is distinct from
      (s.cadre_id, s.month, s.product_code, s.k, s.assigned, s.done, s.exceeded,
       s.errors_counted, s.errors_objective, s.errors_confirmed_by, s.delays_counted,
       s.delays_objective, s.delays_confirmed_by)

-- name: changed_stats
-- $1 batch id; $2 unit ids the caller may write (null: city-wide). cadres_pkey per old cadre.
select count(*) filter (where existed) as replacing,
       count(*) filter (where not existed) as adding,
       count(*) filter (where old_batch_id = $1) as repeated,
       (select count(*) from task_changed c join cadres d on d.id = c.old_cadre_id
        where c.existed and $2::bigint[] is not null
          and d.unit_id <> all($2::bigint[])) as out_of_scope
from task_changed

-- name: update_changed
-- task_records_pkey per changed row; a key staged twice updates once (the caller compares counts).
update task_records t set
    cadre_id = c.cadre_id, month = c.month, product_code = c.product_code, k = c.k,
    assigned = c.assigned, done = c.done, exceeded = c.exceeded,
    errors_counted = c.errors_counted, errors_objective = c.errors_objective,
    errors_confirmed_by = c.errors_confirmed_by, delays_counted = c.delays_counted,
    delays_objective = c.delays_objective, delays_confirmed_by = c.delays_confirmed_by,
    batch_id = $1
from task_changed c
where c.existed and t.source_system = c.source_system and t.external_id = c.external_id

-- name: insert_changed
insert into task_records (
    source_system, external_id, cadre_id, month, product_code, k, assigned, done, exceeded,
    errors_counted, errors_objective, errors_confirmed_by, delays_counted, delays_objective,
    delays_confirmed_by, batch_id)
select source_system, external_id, cadre_id, month, product_code, k, assigned, done, exceeded,
       errors_counted, errors_objective, errors_confirmed_by, delays_counted, delays_objective,
       delays_confirmed_by, $1
from task_changed
where not existed

-- name: totals_changed
-- New values add, the replaced values subtract (a correction may move a record to another
-- cadre or month): the sums per (cadre, month) of the changed rows, into task_totals_delta
-- (totals_add adds them to task_month_totals).
insert into task_totals_delta (
    cadre_id, month, records, k_assigned, k_done, k_done_quality, k_done_timely,
    exceeded_records, late_records, k_done_exceeded, k_done_late)
select cadre_id, month, sum(sign),
       sum(sign * task_units(k * assigned)),
       sum(sign * task_units(k * done)),
       sum(sign * task_units(k * done * greatest(0, 1 - 0.25 * errors_counted))),
       sum(sign * task_units(k * done * greatest(0, 1 - 0.25 * delays_counted))),
       coalesce(sum(sign) filter (where exceeded), 0),
       coalesce(sum(sign) filter (where delays_counted > 0), 0),
       coalesce(sum(sign * task_units(k * done)) filter (where exceeded), 0),
       coalesce(sum(sign * task_units(k * done)) filter (where delays_counted > 0), 0)
from (
    select cadre_id, month, 1 as sign, k, assigned, done, exceeded, errors_counted,
           delays_counted
    from task_changed
    union all
    select old_cadre_id, old_month, -1, old_k, old_assigned, old_done, old_exceeded,
           old_errors, old_delays
    from task_changed
    where existed
) d
group by cadre_id, month

-- name: cadres_by_codes
-- cadres_code_key.
select code, id, unit_id from cadres where code = any($1::text[])

-- name: all_cadres
select code, id, unit_id from cadres

-- name: repeated_rows
-- Staged rows whose key appears twice in the batch (in this block: a sort of the block; or
-- written by an earlier block of this batch: a task_records_pkey probe). Only runs to explain
-- a rejected batch.
with counted as (
    select row_no, source_system, external_id,
           count(*) over (partition by source_system, external_id) as times
    from task_staging
)
select c.row_no, c.source_system, c.external_id
from counted c
where c.times > 1
   or exists (select 1 from task_records t
              where t.source_system = c.source_system and t.external_id = c.external_id
                and t.batch_id = $1)
order by c.row_no
limit $2

-- name: list_records
-- The month's rows through task_records_month_brin; optional cadre filter, keyset by the pkey.
select t.source_system, t.external_id, c.code as cadre_code, t.month, t.product_code, t.k,
       t.assigned, t.done, t.exceeded, t.errors_counted, t.errors_objective,
       t.errors_confirmed_by, t.delays_counted, t.delays_objective, t.delays_confirmed_by,
       t.batch_id, count(*) over () as total_count
from task_records t join cadres c on c.id = t.cadre_id
where t.month = $1
  and ($2::bigint is null or t.cadre_id = $2)
  and ($3::bigint[] is null or c.unit_id = any($3::bigint[]))
order by t.source_system, t.external_id
limit $4 offset $5

-- name: list_totals
-- task_month_totals_month_idx; shares are derived here, never stored.
select c.code as cadre_code, m.cadre_id, m.month, m.records, m.k_assigned, m.k_done,
       m.k_done_quality, m.k_done_timely, m.exceeded_records, m.late_records,
       m.k_done_exceeded, m.k_done_late, count(*) over () as total_count
from task_month_totals m join cadres c on c.id = m.cadre_id
where m.month = $1
  and ($2::bigint is null or m.cadre_id = $2)
  and ($3::bigint[] is null or c.unit_id = any($3::bigint[]))
order by c.code
limit $4 offset $5

-- name: month_totals_arrays
-- For the recomputation: a whole city-month in one read (task_month_totals_month_idx).
select cadre_id, records, k_assigned, k_done, k_done_quality, k_done_timely,
       exceeded_records, late_records
from task_month_totals
where month = $1 and records > 0
order by cadre_id

-- name: any_totals
-- Whether any task data was loaded (demo and synthetic loaders add activity only once).
select exists (select 1 from task_month_totals)
