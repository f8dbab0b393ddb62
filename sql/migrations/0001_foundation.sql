-- 0001_foundation: organisation registry (units, peer groups, cadres, employment, absences),
-- versioned manifestation catalogs, and API keys.
-- Names are stored in NFC; name_key is a Vietnamese sort key and search_text the name folded
-- to plain lowercase ASCII letters, both computed by the application (evalsvc.domain.vietnamese)
-- so ordering and searching work on any server, with or without ICU or unaccent.

create table peer_groups (
    id          bigint generated always as identity primary key,
    code        text not null constraint peer_groups_code_key unique,
    name        text not null
);

create table units (
    id              bigint generated always as identity primary key,
    code            text not null constraint units_code_key unique,
    name            text not null,
    name_key        text collate "C" not null,
    search_text     text not null,
    parent_id       bigint constraint units_parent_fkey references units (id),
    kind            text not null,
    ranking_block   text,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    constraint units_not_own_parent check (parent_id is distinct from id)
);
create index units_parent_idx on units (parent_id);
create index units_name_idx on units (name_key, code);

-- "Outstanding" (đơn vị xuất sắc) is decided per year and raises the HTXS quota.
create table unit_outstanding_years (
    unit_id bigint not null references units (id) on delete cascade,
    year    int not null check (year between 2000 and 2100),
    primary key (unit_id, year)
);

create table cadres (
    id              bigint generated always as identity primary key,
    code            text not null constraint cadres_code_key unique,
    full_name       text not null,
    name_key        text collate "C" not null,
    search_text     text not null,
    personnel_type  text not null
        check (personnel_type in ('can_bo', 'cong_chuc', 'vien_chuc', 'nguoi_lao_dong')),
    position        text not null check (position in ('head', 'deputy', 'staff')),
    unit_id         bigint not null constraint cadres_unit_fkey references units (id),
    peer_group_id   bigint constraint cadres_peer_group_fkey references peer_groups (id),
    party_member    boolean not null default false,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);
create index cadres_unit_idx on cadres (unit_id);
create index cadres_name_idx on cadres (name_key, code);

-- Whole spells of employment; the annual rating counts whole calendar months inside them.
create table employment_spells (
    cadre_id    bigint not null references cadres (id) on delete cascade,
    start_date  date not null,
    end_date    date,
    constraint employment_spells_order check (end_date is null or end_date >= start_date)
);
create index employment_spells_cadre_idx on employment_spells (cadre_id);

create table absences (
    cadre_id    bigint not null references cadres (id) on delete cascade,
    kind        text not null check (kind in ('maternity', 'sick', 'study', 'unpaid', 'other')),
    start_date  date not null,
    end_date    date not null,
    constraint absences_order check (end_date >= start_date)
);
create index absences_cadre_idx on absences (cadre_id);

-- History of moves between units (the cadre row holds the current unit).
create table cadre_unit_moves (
    id              bigint generated always as identity primary key,
    cadre_id        bigint not null references cadres (id) on delete cascade,
    from_unit_id    bigint not null references units (id),
    to_unit_id      bigint not null references units (id),
    effective_date  date not null,
    recorded_at     timestamptz not null default now()
);
create index cadre_unit_moves_cadre_idx on cadre_unit_moves (cadre_id, effective_date);

create table catalogs (
    id              bigint generated always as identity primary key,
    name            text not null,
    version         int not null check (version >= 1),
    title           text not null,
    is_sample       boolean not null default false,
    status          text not null default 'draft' check (status in ('draft', 'published')),
    group1_points   numeric(5, 2) not null default 3 check (group1_points >= 0),
    group2_points   numeric(5, 2) not null default 2 check (group2_points >= 0),
    group3_points   numeric(5, 2) not null default 2 check (group3_points >= 0),
    created_at      timestamptz not null default now(),
    published_at    timestamptz,
    constraint catalogs_name_version_key unique (name, version)
);

create table catalog_items (
    catalog_id  bigint not null references catalogs (id) on delete cascade,
    code        text not null,
    text        text not null,
    group_no    smallint not null check (group_no between 1 and 3),
    for_leader  boolean not null,
    for_staff   boolean not null,
    ordinal     int not null,
    primary key (catalog_id, code),
    constraint catalog_items_some_form check (for_leader or for_staff)
);

-- A published catalog version is immutable: ballots and results refer to it.
create function catalogs_guard_published() returns trigger language plpgsql as $$
begin
    if tg_table_name = 'catalogs' then
        if old.status = 'published' then
            raise exception 'catalog % version % is published and immutable', old.name, old.version
                using errcode = 'P0001', constraint = 'catalogs_published_immutable';
        end if;
        return coalesce(new, old);
    end if;
    if exists (select 1 from catalogs c
               where c.id = coalesce(old.catalog_id, new.catalog_id) and c.status = 'published') then
        raise exception 'items of a published catalog are immutable'
            using errcode = 'P0001', constraint = 'catalogs_published_immutable';
    end if;
    return coalesce(new, old);
end $$;

create trigger catalogs_immutable before update or delete on catalogs
    for each row execute function catalogs_guard_published();
create trigger catalog_items_immutable before insert or update or delete on catalog_items
    for each row execute function catalogs_guard_published();

-- API keys: only a SHA-256 of the secret part is stored; the prefix finds the row.
create table api_keys (
    id          bigint generated always as identity primary key,
    prefix      text not null constraint api_keys_prefix_key unique,
    secret_hash bytea not null,
    role        text not null check (role in ('admin', 'personnel', 'hr_system', 'auditor')),
    unit_id     bigint references units (id),
    label       text not null default '',
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz,
    constraint api_keys_scope check ((role in ('personnel', 'hr_system')) = (unit_id is not null))
);
