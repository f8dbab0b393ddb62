-- What a year needs of a city-wide month run (scoring.carry.MonthCarry, packed by
-- store/carries.py), with what it was computed from: the input versions (input_versions,
-- migration 0005) of its month and of month 0 read in the run's snapshot, a digest of the
-- profile and one of the registry and the year's remediation items. A city-wide year run
-- whose month has the same versions and digests rates the year from this carry instead of
-- re-reading and re-scoring the month (docs/recompute.md, "Month carries").
-- Unlogged: a cache (writing a 12 MB carry costs a quarter of the WAL-logged time). After a
-- crash PostgreSQL empties it, and the next year run reads and scores those months again.
create unlogged table result_month_carries (
    run_id          bigint primary key references result_runs (id) on delete cascade,
    month           int not null check (month between 200001 and 210012),
    global_version  bigint not null,
    month_version   bigint not null,
    profile_key     text not null,
    registry_key    text not null,
    carry           bytea not null
);
-- Stored uncompressed: the carry is numbers (pglz would spend time for little gain).
alter table result_month_carries alter column carry set storage external;
create index result_month_carries_lookup_idx
    on result_month_carries (month, profile_key, global_version, month_version, run_id desc);
