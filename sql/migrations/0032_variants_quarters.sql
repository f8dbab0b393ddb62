-- 0032_variants_quarters (issue 15).
-- Quarterly periods ('2026-Q2', DOMAIN part 3 "Quarterly tracking") for jobs and runs.
-- Variants: a run with changed settings is a variant of its profile (DOMAIN part 3): the
-- changes (the fields that differ from the named profile) and their digest are recorded on
-- the job and on every run it writes; such a job publishes only when an admin asked for it
-- (publish = true), otherwise its runs stay readable by id. A variant has its own job slot
-- (one unfinished job per period, scope and variant).
alter table recompute_jobs drop constraint recompute_jobs_period_check;
alter table recompute_jobs add constraint recompute_jobs_period_check
    check (period ~ '^[0-9]{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$');
alter table recompute_jobs
    add column variant jsonb,
    add column variant_digest text,
    add column publish boolean not null default true;
drop index recompute_jobs_one_active;
create unique index recompute_jobs_one_active
    on recompute_jobs (period, coalesce(scope_unit_id, 0), coalesce(variant_digest, ''))
    where state in ('queued', 'running');

alter table result_runs drop constraint result_runs_kind_check;
alter table result_runs add constraint result_runs_kind_check
    check (kind in ('month', 'quarter', 'year'));
alter table result_runs
    add column variant jsonb,
    add column variant_digest text;
