-- 0003_tasks: what cadres were assigned and delivered (task records, their monthly totals and
-- ingestion batches), remediation items, discipline records, supervisor assessments, formal
-- confidence votes (QĐ 96) and unit indicators.
--
-- Conventions, so the recomputation can read a whole city-month into numpy arrays with one
-- query per table: ids are bigint, months are int yyyymm (202605), calendar days are date.

-- One row per accepted ingestion batch (HTTP upload or CLI import); rolled back with its rows.
create table task_batches (
    id              bigint generated always as identity primary key,
    key_id          bigint references api_keys (id),
    origin          text not null check (origin in ('http', 'cli')),
    format          text not null check (format in ('csv', 'ndjson', 'json')),
    rows_received   bigint not null default 0,
    rows_inserted   bigint not null default 0,
    rows_updated    bigint not null default 0,
    received_at     timestamptz not null default now()
);

-- Task records (sản phẩm / công việc). The idempotency key is (source_system, external_id).
-- Deliberately no foreign key on cadre_id and no secondary btree index: each costs about as
-- much WAL and CPU per row as the heap insert itself (measured: 4M rows 17 s -> 27 s with a
-- (cadre_id, month) index, 24 s -> 48 s with the foreign key). Cadre ids are resolved from
-- codes in the ingest transaction; the trigger cadres_keep_task_history below refuses to
-- delete a cadre that has task totals (every cadre-month with records has a totals row).
-- Reads go through task_month_totals; raw rows are listed per month (BRIN index).
create table task_records (
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
    batch_id            bigint not null,
    -- external_id first: it differs between neighbouring keys, so a comparison rarely needs
    -- the second column (measured: -0.25 us of ~2.4 us per inserted row).
    constraint task_records_pkey primary key (external_id, source_system),
    -- One CHECK with every rule (the ingester validates the same before writing): evaluated
    -- as one expression per row, cheaper than eight separate constraints.
    constraint task_records_valid check (
        month between 200001 and 210012 and month % 100 between 1 and 12
        and k > 0 and k <= 1000
        and assigned >= 0 and done >= 0 and assigned <= 1e6 and done <= 1e6
        and (done <= assigned or exceeded)
        and errors_counted >= 0 and errors_objective >= 0
        and delays_counted >= 0 and delays_objective >= 0
        and (errors_objective = 0 or coalesce(errors_confirmed_by, '') <> '')
        and (delays_objective = 0 or coalesce(delays_confirmed_by, '') <> ''))
);
-- Rows arrive month by month, so a BRIN index narrows a month's listing at almost no write cost.
create index task_records_month_brin on task_records using brin (month);

-- Per cadre and month, the Decree 335 Art. 14-15 sums over that cadre's task records, kept up
-- to date in the ingest transaction (new rows add, replaced rows subtract). The weighted sums
-- are exact integers in millionths of a converted unit: each record contributes
-- floor(x * 1e6 + 0.5) with x = k*assigned, k*done, k*done*max(0, 1 - 0.25*errors_counted),
-- k*done*max(0, 1 - 0.25*delays_counted), so sums do not depend on arrival order and a recount
-- from raw rows gives the same numbers bit for bit.
create function task_units(x double precision) returns bigint
    language sql immutable strict parallel safe
    return floor(x * 1000000.0 + 0.5)::bigint;

create table task_month_totals (
    cadre_id            bigint not null,
    month               int not null,
    records             bigint not null,
    k_assigned          bigint not null,
    k_done              bigint not null,
    k_done_quality      bigint not null,
    k_done_timely       bigint not null,
    exceeded_records    bigint not null,
    late_records        bigint not null,
    updated_at          timestamptz not null default now(),
    constraint task_month_totals_pkey primary key (cadre_id, month)
);
create index task_month_totals_month_idx on task_month_totals (month);

-- The referential check of task_records and task_month_totals, on the rare side: a foreign key
-- would run a check per inserted row (about a fifth of the ingest time), this runs per deleted
-- cadre. Same error code as a foreign key violation.
create function cadres_keep_task_history() returns trigger language plpgsql as $$
begin
    if exists (select 1 from task_month_totals where cadre_id = old.id) then
        raise exception 'cadre % has task records and cannot be deleted', old.code
            using errcode = '23503', constraint = 'task_month_totals_cadre_fkey';
    end if;
    return old;
end $$;
create trigger cadres_keep_task_history before delete on cadres
    for each row execute function cadres_keep_task_history();

-- Remediation items (tồn tại, hạn chế). Overdue is derived: status open and due_on < today.
create table remediation_items (
    id              bigint generated always as identity primary key,
    cadre_id        bigint constraint remediation_items_cadre_fkey references cadres (id),
    unit_id         bigint constraint remediation_items_unit_fkey references units (id),
    origin          text not null check (
        origin in ('ballot_round', 'inspection', 'review_meeting', 'citizen_feedback')),
    origin_ref      text,
    item_code       text not null default '',
    description     text not null,
    identified_on   date not null,
    due_on          date not null,
    status          text not null default 'open' check (status in ('open', 'done', 'cancelled')),
    verified_by     text,
    verified_on     date,
    cancel_reason   text,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint remediation_items_one_subject check (num_nonnulls(cadre_id, unit_id) = 1),
    constraint remediation_items_dates check (due_on >= identified_on),
    constraint remediation_items_done check (
        (status = 'done') = (verified_by is not null and verified_on is not null)),
    constraint remediation_items_cancelled check (
        (status = 'cancelled') = (cancel_reason is not null))
);
-- Idempotency for automatic openers (ballot rounds): one item per origin reference, subject
-- and item code. Manual items without origin_ref are not deduplicated.
create unique index remediation_items_origin_key on remediation_items (
    origin, origin_ref, (coalesce(cadre_id, -unit_id)), item_code) where origin_ref is not null;
create index remediation_items_cadre_idx on remediation_items (cadre_id) where cadre_id is not null;
create index remediation_items_unit_idx on remediation_items (unit_id) where unit_id is not null;
create index remediation_items_due_idx on remediation_items (due_on);

-- Discipline (kỷ luật). One record per cadre, track and violation: the same violation may be
-- punished by the party and by the administration, and the rating counts it once.
create table discipline_records (
    id              bigint generated always as identity primary key,
    cadre_id        bigint not null constraint discipline_records_cadre_fkey references cadres (id),
    form            text not null check (form in (
        'khien_trach', 'canh_cao', 'ha_bac_luong', 'giang_chuc', 'cach_chuc', 'buoc_thoi_viec')),
    track           text not null check (track in ('party', 'administrative')),
    violation_id    text not null,
    decision_no     text not null default '',
    decided_on      date not null,
    effective_on    date not null,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint discipline_records_key unique (cadre_id, track, violation_id),
    constraint discipline_records_dates check (effective_on >= decided_on)
);
create index discipline_records_effective_idx on discipline_records (effective_on);

-- Supervisor assessments per cadre and month: the three general sub-criteria of Decree 335
-- Art. 12 (0-10 each by default) and, for leaders, đ (organising) and e (cohesion), 1 or 0.5.
create table supervisor_assessments (
    cadre_id        bigint not null constraint supervisor_assessments_cadre_fkey references cadres (id),
    month           int not null check (month between 200001 and 210012 and month % 100 between 1 and 12),
    politics        double precision not null check (politics between 0 and 10),
    capacity        double precision not null check (capacity between 0 and 10),
    innovation      double precision not null check (innovation between 0 and 10),
    organising      double precision check (organising in (0.5, 1)),
    cohesion        double precision check (cohesion in (0.5, 1)),
    assessed_by     text not null default '',
    updated_at      timestamptz not null default now(),
    constraint supervisor_assessments_pkey primary key (cadre_id, month)
);
create index supervisor_assessments_month_idx on supervisor_assessments (month);

-- Formal confidence votes (lấy phiếu tín nhiệm, QĐ 96).
create table confidence_votes (
    cadre_id        bigint not null constraint confidence_votes_cadre_fkey references cadres (id),
    vote_date       date not null,
    eligible        int not null check (eligible > 0),
    present         int not null check (present >= 0),
    high            int not null check (high >= 0),
    medium          int not null check (medium >= 0),
    low             int not null check (low >= 0),
    updated_at      timestamptz not null default now(),
    constraint confidence_votes_pkey primary key (cadre_id, vote_date),
    constraint confidence_votes_present check (present <= eligible),
    constraint confidence_votes_counts check (high + medium + low <= present)
);
create index confidence_votes_date_idx on confidence_votes (vote_date);

-- Unit indicators per unit and month: SIPAS satisfaction %, administrative dossiers, PAR score.
create table unit_indicators (
    unit_id             bigint not null constraint unit_indicators_unit_fkey references units (id),
    month               int not null check (month between 200001 and 210012 and month % 100 between 1 and 12),
    satisfaction_pct    double precision check (satisfaction_pct between 0 and 100),
    dossiers_received   int check (dossiers_received >= 0),
    dossiers_late       int check (dossiers_late >= 0),
    par_score           double precision check (par_score between 0 and 100),
    updated_at          timestamptz not null default now(),
    constraint unit_indicators_pkey primary key (unit_id, month),
    constraint unit_indicators_late check (dossiers_late <= dossiers_received)
);
create index unit_indicators_month_idx on unit_indicators (month);
