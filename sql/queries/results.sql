-- Recomputation jobs and published result sets (sql/migrations/0004_results.sql).

-- name: job_select
select j.id, j.period, u.code as unit_code, j.profile_name, j.profile_version, j.state, j.stage,
       j.percent, j.created_at, j.started_at, j.finished_at, j.timings, j.counts, j.error,
       j.run_id, j.scope_unit_id, j.profile
from recompute_jobs j left join units u on u.id = j.scope_unit_id

-- name: job_active
-- recompute_jobs_one_active (partial unique index) finds the unfinished job of a scope.
select id, state, created_at < now() - interval '1 minute' as stale
from recompute_jobs
where period = $1 and coalesce(scope_unit_id, 0) = coalesce($2::bigint, 0)
  and state in ('queued', 'running')

-- name: job_insert
insert into recompute_jobs (period, scope_unit_id, profile_name, profile_version, profile,
                            requested_by)
values ($1, $2, $3, $4, $5, $6)
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
                         profile_name, profile_version, profile, fingerprint, seed)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
returning id

-- name: published_run
-- result_published_pkey.
select run_id from result_published where period = $1

-- name: published_lock
-- Serialises publications of one period; readers are not blocked (row lock only).
select run_id from result_published where period = $1 for update

-- name: publish
insert into result_published (period, run_id) values ($1, $2)
on conflict (period) do update set run_id = excluded.run_id, published_at = now()

-- name: run_complete
update result_runs set status = 'complete', published_at = now(), timings = $2, counts = $3
where id = $1

-- name: run_select
select r.id, r.job_id, r.period, r.kind, r.first_month, r.months, u.code as unit_code,
       r.base_run_id, r.profile_name, r.profile_version, r.fingerprint, r.seed, r.status,
       r.timings, r.counts, r.created_at, r.published_at,
       (p.run_id is not null) as published
from result_runs r
left join units u on u.id = r.scope_unit_id
left join result_published p on p.run_id = r.id

-- name: copy_forward_months
-- Rows of cadres outside the recomputed subtree, carried from the base run (pkey range scan).
insert into result_cadre_months
select $1, cadre_id, month, unit_id, assigned, done, a, b, c, d, dd, e, kq, t, g_raw, deduction,
       g, bonus, m, n_manifestations, level, reasons
from result_cadre_months
where run_id = $2 and cadre_id <> all($3::bigint[])

-- name: copy_forward_years
insert into result_cadre_years
select $1, cadre_id, unit_id, y, periods_scored, worked, rem_due, rem_on_time, rem_verified,
       remediation_rate, n_manifestations, violations, done_share, exceeded_share, late_share,
       level_base, level_overrides, level_caps, level_gates, level_link, level,
       quota_keep_rank, reasons
from result_cadre_years
where run_id = $2 and cadre_id <> all($3::bigint[])

-- name: previous_ranks
-- The previous period's published ranks (movement); pkey prefix (run_id, annual).
select r.unit_id, r.rank
from result_published p join result_units r on r.run_id = p.run_id
where p.period = $1 and r.annual = $2
  and r.month = (select max(month) from result_units x where x.run_id = p.run_id and x.annual = $2)

-- name: cadre_months
-- result_cadre_months_pkey (run_id, cadre_id, month).
select month, assigned, done, a, b, c, d, dd, e, kq, t, g_raw, deduction, g, bonus, m,
       n_manifestations, level, reasons
from result_cadre_months where run_id = $1 and cadre_id = $2 order by month

-- name: cadre_year
-- result_cadre_years_pkey.
select y, periods_scored, worked, rem_due, rem_on_time, rem_verified, remediation_rate,
       n_manifestations, violations, done_share, exceeded_share, late_share, level_base,
       level_overrides, level_caps, level_gates, level_link, level, quota_keep_rank, reasons
from result_cadre_years where run_id = $1 and cadre_id = $2

-- name: cadre_runs
-- Published runs that hold rows of the cadre, newest period first.
select p.period, p.run_id from result_published p order by p.period desc
