-- Cadre result rows as compressed column chunks (store/cadre_chunks.py).
--
-- Stored one row per cadre, a month's 200,000 result rows cost the server 0.4 s (39 MB of
-- tuples and a 200,000-entry index) — most of a month run. A chunk holds the rows of up to
-- 4,096 cadres in cadre_id order, one zstd-compressed little-endian array per column
-- (`detail`: the explanation numbers, field by field): a month is 49 rows and 7 MB.
-- Readers find a cadre's chunk by its id range and decode it; lists decode a run's chunks.
--
-- Same partitioning as before: one partition per run (result_month_chunks_r<run id>),
-- created in the writer's transaction, indexed on first_cadre_id after the load, attached.
-- The row tables of 0004 are converted run by run by the service at start-up
-- (store/chunk_upgrade.py), which then drops them.
create table result_month_chunks (
    run_id              bigint not null,
    first_cadre_id      bigint not null,
    last_cadre_id       bigint not null,
    n_cadres            int not null check (n_cadres > 0),
    cadre_id            bytea not null,  -- int8
    unit_id             bytea not null,  -- int8
    m                   bytea not null,  -- float8, NaN = not scored
    level               bytea not null,  -- int2, -1 not rated, 0 KHT .. 3 HTXS
    reasons             bytea not null,  -- int4 bit mask, scoring.levels.REASONS order
    n_manifestations    bytea not null,  -- int4
    detail              bytea not null   -- float8 (fields, n_cadres): store/results.py MONTH_DETAIL
) partition by list (run_id);

create table result_year_chunks (
    run_id              bigint not null,
    first_cadre_id      bigint not null,
    last_cadre_id       bigint not null,
    n_cadres            int not null check (n_cadres > 0),
    cadre_id            bytea not null,  -- int8
    unit_id             bytea not null,  -- int8
    y                   bytea not null,  -- float8
    level               bytea not null,  -- int2
    reasons             bytea not null,  -- int4
    detail              bytea not null   -- float8 (fields, n_cadres): store/results.py YEAR_DETAIL
) partition by list (run_id);

-- Already compressed: out of line as they are, no second (pglz) attempt.
alter table result_month_chunks
    alter column cadre_id set storage external, alter column unit_id set storage external,
    alter column m set storage external, alter column level set storage external,
    alter column reasons set storage external,
    alter column n_manifestations set storage external,
    alter column detail set storage external;
alter table result_year_chunks
    alter column cadre_id set storage external, alter column unit_id set storage external,
    alter column y set storage external, alter column level set storage external,
    alter column reasons set storage external, alter column detail set storage external;
