-- The registry (cadres, units, peer groups, outstanding years, employment spells) changes
-- far less often than a month's data, yet every recomputation read it as 400,000 rows. Its
-- tables now also note month -1 in input_versions (besides month 0, which keeps meaning
-- "every month may have changed"), and a run stores the registry arrays it read, packed,
-- with that version: the next run whose registry version is the same unpacks them instead
-- (docs/recompute.md, "Registry packs").
create or replace function input_versions_note_all() returns trigger language plpgsql as $$
declare
    months int4[] := case when tg_table_name in ('cadres', 'units', 'peer_groups',
                                                 'unit_outstanding_years', 'employment_spells')
                          then '{0,-1}'::int4[] else '{0}'::int4[] end;
begin
    if tg_op = 'INSERT' then
        if exists (select from new_rows) then
            perform input_versions_note(months);
        end if;
    elsif tg_op = 'UPDATE' then
        if exists (select from new_rows) then
            perform input_versions_note(months);
        end if;
    elsif tg_op = 'DELETE' then
        if exists (select from old_rows) then
            perform input_versions_note(months);
        end if;
    else
        perform input_versions_note(months);
    end if;
    return null;
end $$;

-- Packed input arrays per (kind, year) at the input version they were read at; the newest
-- only. Unlogged like the month carries: a cache, emptied by a crash, rebuilt by the next run.
create unlogged table input_packs (
    kind        text not null,
    year        int not null,
    version     bigint not null,
    payload     bytea not null,
    primary key (kind, year)
);
alter table input_packs alter column payload set storage external;
