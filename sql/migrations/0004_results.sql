-- 0004_results: recomputation jobs and versioned, atomically published result sets
-- (DOMAIN parts 3, 5 and 6; docs/recompute.md).
-- A run writes a complete set of rows tagged with its run id, then one short transaction
-- points result_published at it. Readers always go through the pointer (or name a run id
-- explicitly), so they see the old set or the new one, never a mix. Missing numbers are
-- stored as float8 'NaN' (not NULL) so every row is fixed-width and written with one binary
-- COPY built from numpy arrays; read queries turn NaN into NULL.

-- The recomputation reads every cadre in code order (the quota's last tie-break) with one
-- index-only scan instead of a sort (jobs/inputs.py read_org).
create index cadres_code_order_idx on cadres (code collate "C")
    include (id, unit_id, position, peer_group_id);

create table recompute_jobs (
    id              bigint generated always as identity primary key,
    period          text not null check (period ~ '^[0-9]{4}(-(0[1-9]|1[0-2]))?$'),
    scope_unit_id   bigint constraint recompute_jobs_unit_fkey references units (id),
    profile_name    text not null,
    profile_version text not null,
    profile         jsonb not null,
    state           text not null default 'queued'
        check (state in ('queued', 'running', 'succeeded', 'failed')),
    stage           text not null default 'queued',
    percent         real not null default 0 check (percent between 0 and 100),
    requested_by    bigint not null default 0,  -- API key id; 0 = CLI / built-in job
    created_at      timestamptz not null default now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    timings         jsonb not null default '{}',
    counts          jsonb not null default '{}',
    error           text,
    run_id          bigint
);
-- At most one unfinished job per (period, scope); the advisory lock held by the worker
-- proves it is alive (store/jobs.py).
create unique index recompute_jobs_one_active on recompute_jobs (period, coalesce(scope_unit_id, 0))
    where state in ('queued', 'running');
create index recompute_jobs_created_idx on recompute_jobs (created_at desc);

create table result_runs (
    id              bigint generated always as identity primary key,
    job_id          bigint constraint result_runs_job_fkey references recompute_jobs (id),
    period          text not null,
    kind            text not null check (kind in ('month', 'year')),
    first_month     date not null,
    months          int not null check (months between 1 and 12),
    scope_unit_id   bigint references units (id),  -- the subtree recomputed; NULL = city
    base_run_id     bigint references result_runs (id),  -- rows outside the scope copied from
    profile_name    text not null,
    profile_version text not null,
    profile         jsonb not null,
    fingerprint     text not null,  -- SHA-256 of the input arrays and the profile; a month
                                    -- run's covers exactly what its month's scores use
    month_runs      bigint[] not null default '{}',  -- per month of the period: the run
                                    -- whose result_cadre_months partition holds it
    seed            bigint not null,  -- rank-interval bootstrap seed
    status          text not null default 'writing' check (status in ('writing', 'complete')),
    timings         jsonb not null default '{}',
    counts          jsonb not null default '{}',
    created_at      timestamptz not null default now(),
    published_at    timestamptz
);
create index result_runs_period_idx on result_runs (period, id desc);
-- A year run looks for a complete city-wide month run with the same month fingerprint.
create index result_runs_reuse_idx on result_runs (fingerprint, id desc)
    where kind = 'month' and scope_unit_id is null and status = 'complete';

-- The published set of each period: the only thing readers follow by default.
create table result_published (
    period          text primary key,
    run_id          bigint not null constraint result_published_run_fkey references result_runs (id),
    published_at    timestamptz not null default now()
);

-- Result rows live in one partition per run and table (result_cadre_months_r<run id>,
-- result_cadre_years_r<run id>, result_units_r<run id>): the writer creates the partition as a plain table in its
-- transaction, loads it with one binary COPY (FREEZE), builds its index after the load and
-- attaches it; dropping a run is dropping its partitions. The numbers only explanations
-- need are packed into `detail` (little-endian float8, order in store/results.py): a row
-- has 9 fields instead of 22, which is what the COPY costs.
--
-- Cadre period scores (Decree 335 Art. 12-15). Every run names, per month of its period,
-- the run whose partition holds that month (result_runs.month_runs): a month run holds its
-- own month; a year run reuses a month run computed from identical inputs (same month
-- fingerprint) and writes only the months that changed, as month runs of their own.
create table result_cadre_months (
    run_id              bigint not null,
    cadre_id            bigint not null,
    month               date not null,
    unit_id             bigint not null,
    m                   float8 not null,   -- NaN = not scored
    level               smallint not null,  -- -1 not rated, 0 KHT .. 3 HTXS
    reasons             int not null,        -- bit mask, scoring.levels.REASONS order
    n_manifestations    int not null,
    detail              bytea not null      -- assigned, done, a, b, c, d, dd, e, kq, t,
                                            -- g_raw, deduction, g, bonus
) partition by list (run_id);

-- Annual ratings with the level after every stage, so a change can be explained and appealed.
create table result_cadre_years (
    run_id              bigint not null,
    cadre_id            bigint not null,
    unit_id             bigint not null,
    y                   float8 not null,
    level               smallint not null,
    reasons             int not null,
    detail              bytea not null  -- store/results.py YEAR_DETAIL (stages, counts, shares)
) partition by list (run_id);

-- Unit scores, levels and ranks (DOMAIN part 5): period rows (annual = false) and, in a
-- year run, the annual row (annual = true, month = first month of the year).
create table result_units (
    run_id      bigint not null,
    unit_id     bigint not null,
    month       date not null,
    annual      boolean not null,
    u           float8 not null,
    u1          float8 not null,
    u2          float8 not null,
    u3          float8 not null,
    u4          float8 not null,
    u5          float8 not null,
    members     int not null,
    kht         int not null,
    pairs       int not null,
    level_base  smallint not null,
    level       smallint not null,
    rank        int not null,       -- competition rank in the block, -1 unranked
    prev_rank   int not null,       -- rank in the previous period's published set, -1 none
    movement    int not null,       -- prev_rank - rank (+ = up), 0 when new
    rank_low    float8 not null,    -- rank interval (5th-95th percentile), NaN = not computed
    rank_high   float8 not null
) partition by list (run_id);
