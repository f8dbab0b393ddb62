-- name: create_staging
-- One staging table per ingest transaction (temporary: no WAL), refilled per chunk.
create temp table task_staging (
    row_no              bigint not null,
    source_system       text collate "C" not null,
    external_id         text collate "C" not null,
    cadre_code          text not null,
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
    delays_confirmed_by text
) on commit drop

-- name: lock_ingest
-- Task writes are serialised: the replaced rows read in upsert_chunk must not change under us.
select pg_advisory_xact_lock(7301)

-- name: new_batch
insert into task_batches (key_id, origin, format) values ($1, $2, $3) returning id

-- name: finish_batch
update task_batches set rows_received = $2, rows_inserted = $3, rows_updated = $4 where id = $1

-- name: upsert_chunk
-- One set-based step per chunk: resolve cadre codes (hash join on cadres or cadres_code_key),
-- upsert by task_records_pkey, and move the monthly totals by the difference (new rows add,
-- the rows they replace subtract). All CTEs share one snapshot, so "old" holds the values from
-- before "up" ran; "up" returns each key at most once (a second hit raises 21000).
-- $1 batch id, $2 unit ids the caller may write (null: city-wide).
with resolved as (
    select s.source_system, s.external_id, c.id as cadre_id, c.unit_id, s.month, s.product_code,
           s.k, s.assigned, s.done, s.exceeded, s.errors_counted, s.errors_objective,
           s.errors_confirmed_by, s.delays_counted, s.delays_objective, s.delays_confirmed_by
    from task_staging s join cadres c on c.code = s.cadre_code
),
up as (
    insert into task_records as t (
        source_system, external_id, cadre_id, month, product_code, k, assigned, done, exceeded,
        errors_counted, errors_objective, errors_confirmed_by, delays_counted, delays_objective,
        delays_confirmed_by, batch_id)
    select source_system, external_id, cadre_id, month, product_code, k, assigned, done, exceeded,
           errors_counted, errors_objective, errors_confirmed_by, delays_counted, delays_objective,
           delays_confirmed_by, $1
    from resolved
    on conflict (source_system, external_id) do update set
        cadre_id = excluded.cadre_id, month = excluded.month, product_code = excluded.product_code,
        k = excluded.k, assigned = excluded.assigned, done = excluded.done,
        exceeded = excluded.exceeded, errors_counted = excluded.errors_counted,
        errors_objective = excluded.errors_objective,
        errors_confirmed_by = excluded.errors_confirmed_by,
        delays_counted = excluded.delays_counted, delays_objective = excluded.delays_objective,
        delays_confirmed_by = excluded.delays_confirmed_by, batch_id = excluded.batch_id
    where (t.cadre_id, t.month, t.product_code, t.k, t.assigned, t.done, t.exceeded,
           t.errors_counted, t.errors_objective, t.errors_confirmed_by, t.delays_counted,
           t.delays_objective, t.delays_confirmed_by)
        is distinct from
          (excluded.cadre_id, excluded.month, excluded.product_code, excluded.k,
           excluded.assigned, excluded.done, excluded.exceeded, excluded.errors_counted,
           excluded.errors_objective, excluded.errors_confirmed_by, excluded.delays_counted,
           excluded.delays_objective, excluded.delays_confirmed_by)
    returning source_system, external_id, cadre_id, month, k, assigned, done, exceeded,
              errors_counted, delays_counted
),
old as (
    select t.source_system, t.external_id, t.cadre_id, t.month, t.k, t.assigned, t.done,
           t.exceeded, t.errors_counted, t.delays_counted, t.batch_id
    from task_records t join up using (source_system, external_id)
),
delta as (
    select cadre_id, month, 1 as sign, k, assigned, done, exceeded, errors_counted, delays_counted
    from up
    union all
    select cadre_id, month, -1, k, assigned, done, exceeded, errors_counted, delays_counted
    from old
),
totals as (
    insert into task_month_totals as m (
        cadre_id, month, records, k_assigned, k_done, k_done_quality, k_done_timely,
        exceeded_records, late_records)
    select cadre_id, month, sum(sign),
           sum(sign * task_units(k * assigned)),
           sum(sign * task_units(k * done)),
           sum(sign * task_units(k * done * greatest(0, 1 - 0.25 * errors_counted))),
           sum(sign * task_units(k * done * greatest(0, 1 - 0.25 * delays_counted))),
           coalesce(sum(sign) filter (where exceeded), 0),
           coalesce(sum(sign) filter (where delays_counted > 0), 0)
    from delta
    group by cadre_id, month
    on conflict (cadre_id, month) do update set
        records = m.records + excluded.records,
        k_assigned = m.k_assigned + excluded.k_assigned,
        k_done = m.k_done + excluded.k_done,
        k_done_quality = m.k_done_quality + excluded.k_done_quality,
        k_done_timely = m.k_done_timely + excluded.k_done_timely,
        exceeded_records = m.exceeded_records + excluded.exceeded_records,
        late_records = m.late_records + excluded.late_records,
        updated_at = now()
    returning 1
)
select
    (select count(*) from task_staging) - (select count(*) from resolved) as unknown_cadres,
    (select count(*) from resolved where $2::bigint[] is not null and unit_id <> all($2::bigint[]))
      + (select count(*) from old o join cadres c on c.id = o.cadre_id
         where $2::bigint[] is not null and c.unit_id <> all($2::bigint[])) as out_of_scope,
    (select count(*) from up) as changed,
    (select count(*) from old) as replaced,
    (select count(*) from old where batch_id = $1) as repeated,
    (select count(*) from totals) as totals_touched

-- name: unknown_cadre_rows
-- Staging rows whose cadre code matches no cadre (cadres_code_key).
select s.row_no, s.cadre_code
from task_staging s
where not exists (select 1 from cadres c where c.code = s.cadre_code)
order by s.row_no
limit $1

-- name: repeated_rows
-- Staging rows whose key appears twice in the batch (earlier in this chunk or an earlier chunk).
select s.row_no, s.source_system, s.external_id
from task_staging s
where exists (select 1 from task_staging d
              where d.source_system = s.source_system and d.external_id = s.external_id
                and d.row_no <> s.row_no)
   or exists (select 1 from task_records t
              where t.source_system = s.source_system and t.external_id = s.external_id
                and t.batch_id = $1)
order by s.row_no
limit $2

-- name: list_records
-- The month's rows through task_records_month_brin; optional cadre filter, keyset by the pkey.
select t.source_system, t.external_id, c.code as cadre_code, t.month, t.product_code, t.k,
       t.assigned, t.done, t.exceeded, t.errors_counted, t.errors_objective,
       t.errors_confirmed_by, t.delays_counted, t.delays_objective, t.delays_confirmed_by,
       t.batch_id
from task_records t join cadres c on c.id = t.cadre_id
where t.month = $1
  and ($2::bigint is null or t.cadre_id = $2)
  and ($3::bigint[] is null or c.unit_id = any($3::bigint[]))
order by t.source_system, t.external_id
limit $4 offset $5

-- name: list_totals
-- task_month_totals_month_idx; shares are derived here, never stored.
select c.code as cadre_code, m.cadre_id, m.month, m.records, m.k_assigned, m.k_done,
       m.k_done_quality, m.k_done_timely, m.exceeded_records, m.late_records
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
