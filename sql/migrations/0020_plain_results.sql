-- 0020_plain_results: published results as plain rows that any SQL or BI tool can read
-- (issue 17, docs/results_sql.md).
--
-- * Cadre results are one row per (run, cadre): cadre_period_results (a month, or a quarter
--   once profiles rate quarterly) and cadre_year_results, every explanation number a named
--   column. They replace the compressed chunks of 0010; the service converts the stored
--   chunks at start-up (store/result_upgrade.py) and then drops those tables.
-- * The organisation a run used is stored with it (result_orgs: one snapshot per distinct
--   registry content, shared by the runs that read that content), so an appeal against an
--   old run shows the old units, names and positions.
-- * Runs record the scoring version (a digest of the scoring package's source) and, for a
--   run with changed settings, its variant (the changes and their digest).
-- * Views (stable, documented): ratings_month, ratings_year, unit_results for the published
--   set of each period; *_by_run for any run by id.
--
-- Like result_units, both tables have one partition per run: a run is written as a new
-- table in its own transaction (COPY ... FREEZE, indexes after the load) and attached;
-- dropping a run drops its partitions. Missing numbers are float8 'NaN' in the tables
-- (one binary COPY from numpy arrays) and NULL in the views.

-- Pre-0010 row tables: every database that ran the previous release converted them to
-- chunks at start-up and dropped them; a database that never did has no readable runs in
-- them that this release could keep either.
drop table if exists result_cadre_months, result_cadre_years;

create table result_orgs (
    id          bigint generated always as identity primary key,
    digest      text not null constraint result_orgs_digest_key unique,
    created_at  timestamptz not null default now()
);

create table result_org_units (
    org_id          bigint not null references result_orgs (id) on delete cascade,
    unit_id         bigint not null,
    code            text not null,
    name            text not null,
    parent_id       bigint,
    kind            text not null,
    ranking_block   text,
    agency          boolean,  -- the registry's agency flag (NULL: the default)
    agency_unit_id  bigint,   -- the unit's agency (DOMAIN part 2); not filled yet: the
                              -- annual rows carry each cadre's agency (agency_id)
    primary key (org_id, unit_id)
);
create index result_org_units_code_idx on result_org_units (org_id, code);

create table result_org_cadres (
    org_id          bigint not null references result_orgs (id) on delete cascade,
    cadre_id        bigint not null,
    code            text not null,
    full_name       text not null,
    name_key        text collate "C" not null,  -- Vietnamese sort order (cadres.name_key)
    personnel_type  text not null,
    position        text not null,
    unit_id         bigint not null,
    peer_group      text,
    primary key (org_id, cadre_id)
);
create index result_org_cadres_unit_idx on result_org_cadres (org_id, unit_id);
create index result_org_cadres_code_idx on result_org_cadres (org_id, code);

alter table result_runs
    add column org_id bigint constraint result_runs_org_fkey references result_orgs (id),
    add column scoring_version text not null default 'before-0020';
-- (the variant's changes and digest: result_runs.variant, variant_digest, added by 0032)

-- The vocabulary the views spell out. Reason codes are kept in step with the scoring
-- core's list at every recomputation (append only: a bit never changes its meaning).
create table result_reason_codes (
    bit     int primary key check (bit between 0 and 30),
    code    text not null constraint result_reason_codes_code_key unique
);
insert into result_reason_codes (bit, code) values
    (0, 'insufficient_data'), (1, 'no_assessment'), (2, 'discipline'),
    (3, 'low_confidence_ballot'), (4, 'score_below_50'), (5, 'degradation'),
    (6, 'corruption_in_charge'), (7, 'low_confidence'), (8, 'not_enough_months'),
    (9, 'absence_cap'), (10, 'gate_tasks_done'), (11, 'gate_exceeded'), (12, 'unremediated'),
    (13, 'gate_late_tasks'), (14, 'leader_cap'), (15, 'quota');

create table result_levels (
    level       smallint primary key,
    code        text not null,
    label_vi    text not null
);
insert into result_levels (level, code, label_vi) values
    (-1, 'not_rated', 'Không xếp loại'),
    (0, 'KHT', 'Không hoàn thành nhiệm vụ'),
    (1, 'HT', 'Hoàn thành nhiệm vụ'),
    (2, 'HTT', 'Hoàn thành tốt nhiệm vụ'),
    (3, 'HTXS', 'Hoàn thành xuất sắc nhiệm vụ');

create function result_reasons(mask int) returns text[] language sql stable parallel safe as $$
    select coalesce(array_agg(code order by bit), '{}') from result_reason_codes
    where mask & (1 << bit) <> 0
$$;

-- The codes of every reason mask stored (a handful of distinct masks per run), so that a
-- view spells a row's reasons with one hash lookup instead of a subquery per row. The
-- writer adds the masks of each partition it loads (store/results.py write_cadres).
create table result_reason_sets (
    mask    int primary key,
    codes   text[] not null
);

-- A cadre's score of one period (month or quarter) in one run: M = G + T and how.
create table cadre_period_results (
    run_id              bigint not null,
    cadre_id            bigint not null,
    unit_id             bigint not null,
    m                   float8 not null,   -- NaN = not scored
    level               smallint not null,  -- result_levels
    reasons             int not null,        -- bits of result_reason_codes
    n_manifestations    int not null,
    assigned            float8 not null,   -- Σk·assigned (remediation items included)
    done                float8 not null,
    a                   float8 not null,
    b                   float8 not null,
    c                   float8 not null,
    d                   float8 not null,
    dd                  float8 not null,   -- đ
    e                   float8 not null,
    kq                  float8 not null,
    t                   float8 not null,
    g_raw               float8 not null,   -- the supervisor's three sub-criteria
    deduction           float8 not null,   -- confirmed manifestations' points
    g                   float8 not null,
    bonus               float8 not null
) partition by list (run_id);

-- A cadre's annual rating in one year run, with the level after every stage.
create table cadre_year_results (
    run_id              bigint not null,
    cadre_id            bigint not null,
    unit_id             bigint not null,
    y                   float8 not null,   -- NaN = no scored period
    level               smallint not null,
    reasons             int not null,
    periods_scored      int not null,
    worked              int not null,       -- months worked (Decree 90)
    rem_due             int not null,
    rem_on_time         int not null,
    rem_verified        int not null,
    remediation_rate    float8 not null,
    n_manifestations    int not null,
    violations          int not null,
    done_share          float8 not null,
    exceeded_share      float8 not null,
    late_share          float8 not null,
    level_base          smallint not null,
    level_overrides     smallint not null,
    level_caps          smallint not null,
    level_gates         smallint not null,
    level_link          smallint not null,
    quota_keep_rank     int not null,       -- -1 = not in a quota ranking
    agency_id           bigint not null,    -- the unit whose quota the cadre is in (-1: none)
    quota_cap           int not null,       -- that (agency, peer group)'s HTXS cap (-1: none)
    quota_top_before    int not null        -- its HTXS count before the quota (-1: none)
) partition by list (run_id);

-- The views over these tables are in sql/views/results.sql (applied after every
-- migration, so they may use columns later migrations add).

-- Who may read them: `evalsvc db grant-reader NAME` grants this role (and nothing else).
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'evalsvc_reader') then
        create role evalsvc_reader nologin;
    end if;
end $$;
grant usage on schema public to evalsvc_reader;
