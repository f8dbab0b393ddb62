-- Recomputation jobs and published result sets (sql/migrations/0004_results.sql).

-- name: job_select
select j.id, j.period, u.code as unit_code, j.profile_name, j.profile_version, j.state, j.stage,
       j.percent, j.created_at, j.started_at, j.finished_at, j.timings, j.counts, j.error,
       j.run_id, j.scope_unit_id, j.profile, j.variant, j.variant_digest, j.publish
from recompute_jobs j left join units u on u.id = j.scope_unit_id

-- name: job_active
-- recompute_jobs_one_active (partial unique index) finds the unfinished job of a scope.
select id, state, created_at < now() - interval '1 minute' as stale
from recompute_jobs
where period = $1 and coalesce(scope_unit_id, 0) = coalesce($2::bigint, 0)
  and variant_digest is not distinct from $3::text
  and state in ('queued', 'running')

-- name: job_insert
insert into recompute_jobs (period, scope_unit_id, profile_name, profile_version, profile,
                            requested_by, variant, variant_digest, publish)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
returning id

-- name: job_start
update recompute_jobs set state = 'running', stage = 'starting', started_at = now()
where id = $1 and state = 'queued'
returning id

-- name: job_progress
update recompute_jobs set stage = $2, percent = $3, timings = $4 where id = $1

-- name: job_succeed
update recompute_jobs
set state = 'succeeded', stage = 'done', percent = 100, finished_at = now(),
    timings = $2, counts = $3, run_id = $4, error = null
where id = $1

-- name: job_fail
update recompute_jobs
set state = 'failed', finished_at = now(), error = $2, timings = coalesce($3, timings)
where id = $1 and state in ('queued', 'running')

-- name: run_insert
insert into result_runs (job_id, period, kind, first_month, months, scope_unit_id, base_run_id,
                         profile_name, profile_version, profile, fingerprint, seed, org_id,
                         scoring_version, variant, variant_digest)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
returning id

-- name: org_units_snapshot
-- The registry's units as a run reads them (0020: result_org_units).
insert into result_org_units (org_id, unit_id, code, name, parent_id, kind, ranking_block,
                              agency)
select $1, id, code, name, parent_id, kind, ranking_block, agency from units

-- name: org_units_agency
-- Each unit's agency as the scoring core computes it (scoring.inputs.agency_units).
update result_org_units o set agency_unit_id = a.agency
from unnest($2::bigint[], $3::bigint[]) as a (unit_id, agency)
where o.org_id = $1 and o.unit_id = a.unit_id

-- name: org_cadres_snapshot
insert into result_org_cadres (org_id, cadre_id, code, full_name, name_key, personnel_type,
                               position, unit_id, peer_group)
select $1, c.id, c.code, c.full_name, c.name_key, c.personnel_type, c.position, c.unit_id,
       g.code
from cadres c left join peer_groups g on g.id = c.peer_group_id

-- name: published_run
-- result_published_pkey.
select run_id from result_published where period = $1

-- name: published_lock
-- Serialises publications of one period; readers are not blocked (row lock only).
select run_id from result_published where period = $1 for update

-- name: publish
insert into result_published (period, run_id) values ($1, $2)
on conflict (period) do update set run_id = excluded.run_id, published_at = now()

-- name: run_complete_unpublished
-- A variant run that was not asked to publish: complete, readable by id, never the period's.
update result_runs set status = 'complete', timings = $2, counts = $3 where id = $1

-- name: run_complete
update result_runs set status = 'complete', published_at = now(), timings = $2, counts = $3
where id = $1

-- name: helper_runs_complete
-- Month runs a year job wrote become reusable once the year run is published.
update result_runs set status = 'complete'
where job_id = (select job_id from result_runs where id = $1) and id <> $1
  and status = 'writing'

-- name: run_select
select r.id, r.job_id, r.period, r.kind, r.first_month, r.months, u.code as unit_code,
       r.base_run_id, r.profile_name, r.profile_version, r.fingerprint, r.seed, r.status,
       r.scoring_version, r.variant, r.variant_digest, r.org_id, r.profile,
       r.timings, r.counts, r.created_at, r.published_at,
       (p.run_id is not null) as published
from result_runs r
left join units u on u.id = r.scope_unit_id
left join result_published p on p.run_id = r.id

-- name: reusable_month_run
-- result_runs_reuse_idx: a complete city-wide month run with the same month fingerprint
-- (the same inputs and profile give the same rows, docs/recompute.md).
select id from result_runs
where fingerprint = $1 and kind = 'month' and scope_unit_id is null and status = 'complete'
order by id desc limit 1

-- name: month_source
-- The run holding the cadre rows of month $2 for run $1 (result_runs_pkey): month_runs has
-- one run per rating period, a month or (profile period 'quarter') a quarter.
select r.month_runs[((extract(year from $2::date) - extract(year from r.first_month)) * 12
                     + extract(month from $2::date) - extract(month from r.first_month))::int
                    / (case when r.profile ->> 'period' = 'quarter' then 3 else 1 end) + 1]
from result_runs r where r.id = $1

-- name: discardable_runs
-- The run and the month runs its job wrote that are not complete (never reused).
select id from result_runs where id = $1
union
select x.id from result_runs r join result_runs x on x.job_id = r.job_id
where r.id = $1 and x.status = 'writing'
  and not exists (select 1 from result_published p where p.run_id = x.id)

-- name: previous_ranks
-- The previous period's published ranks (movement). The run id is a parameter, not a join
-- on result_published: the planner then prunes to that run's partition instead of planning
-- every run's (tens of milliseconds once a database holds a few hundred runs).
select r.unit_id, r.rank
from result_units r
where r.run_id = $1 and r.annual = $2
  and r.month = (select max(month) from result_units x where x.run_id = $1 and x.annual = $2)

-- name: cadre_runs
-- Published runs that hold rows of the cadre, newest period first.
select p.period, p.run_id from result_published p order by p.period desc

-- name: unit_result_rows
-- Every row of one unit in a run (the year's row and its months): result_units' unique key.
select r.month, r.annual, r.u, r.u1, r.u2, r.u3, r.u4, r.u5, r.members, r.kht, r.pairs,
       r.level, r.rank, r.prev_rank, r.movement, r.rank_low, r.rank_high
from result_units r
where r.run_id = $1 and r.unit_id = $2
order by r.annual desc, r.month

-- name: ranking_blocks
select distinct ranking_block as block from units where ranking_block is not null
order by ranking_block

-- name: published_periods
select period, run_id from result_published order by period desc

-- name: member_levels_year
-- Levels of a run's cadres in these units (the run's own placement of each cadre); the
-- run's partition alone is read (partition key).
select level, count(*)::int as n
from cadre_year_results where run_id = $1 and unit_id = any($2::bigint[])
group by level

-- name: member_levels_period
select level, count(*)::int as n
from cadre_period_results where run_id = $1 and unit_id = any($2::bigint[])
group by level

-- name: unchanged_period_runs
-- Per period starting on one of $1: the latest complete city-wide month (quarter) run of
-- profile $2, variant $3 and scoring version $4 that keeps its carry and whose per-month
-- rows no write has changed since it read them (a note in input_month_changes its read
-- snapshot does not see, 0100). The caller still compares fingerprints.
select distinct on (r.first_month) r.first_month, r.id, r.fingerprint, r.rows_digest
from result_runs r
where r.kind in ('month', 'quarter') and r.scope_unit_id is null and r.status = 'complete'
  and r.first_month = any ($1::date[]) and r.profile = $2::jsonb
  and r.variant_digest is not distinct from $3 and r.scoring_version = $4
  and r.read_snapshot is not null and r.rows_digest is not null
  and r.read_cluster = (select system_identifier::text from pg_control_system())
  and pg_snapshot_xmax(r.read_snapshot) <= pg_snapshot_xmax(pg_current_snapshot())
  and exists (select 1 from result_month_carries c where c.run_id = r.id)
  and not exists (
      select 1 from input_month_changes x
      where x.month between extract(year from r.first_month)::int * 100
                            + extract(month from r.first_month)::int
                        and extract(year from r.first_month + (r.months - 1) * interval '1 month')::int * 100
                            + extract(month from r.first_month + (r.months - 1) * interval '1 month')::int
        and not pg_visible_in_snapshot(x.xid, r.read_snapshot))
  and not exists (
      select 1 from input_month_changes x
      where x.month is null and not pg_visible_in_snapshot(x.xid, r.read_snapshot))
order by r.first_month, r.id desc

-- name: run_read_state
-- What a month (quarter) run read: its snapshot and the digest of its per-month rows.
update result_runs
set read_snapshot = $2::text::pg_snapshot, rows_digest = $3,
    read_cluster = (select system_identifier::text from pg_control_system())
where id = $1

-- name: carry_insert
insert into result_month_carries (run_id, carry) values ($1, $2)

-- name: carry_exists
select exists (select 1 from result_month_carries where run_id = $1)

-- name: carries_of_runs
select run_id, carry from result_month_carries where run_id = any ($1::bigint[])
