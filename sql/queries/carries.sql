-- name: carry_upsert
-- A run's carry. Replaces a carry of the same run stored under other digests (another
-- payload format, after an upgrade): carry_restamp covers the same digests.
insert into result_month_carries
    (run_id, month, global_version, month_version, profile_key, registry_key, carry)
values ($1, $2, $3, $4, $5, $6, $7)
on conflict (run_id) do update
set global_version = excluded.global_version, month_version = excluded.month_version,
    profile_key = excluded.profile_key, registry_key = excluded.registry_key,
    carry = excluded.carry

-- name: carry_restamp
-- The month's inputs changed version but not content (same month fingerprint): the carry
-- of that run is valid at the new versions too.
update result_month_carries
set global_version = $2, month_version = $3
where run_id = $1 and profile_key = $4 and registry_key = $5

-- name: carry_candidates
-- result_month_carries_lookup_idx: per month ($1) at its version ($2), the newest complete
-- city-wide month run computed under the same profile ($3) at the same month-0 version
-- ($4); the caller checks the registry digest once it has read the registry.
select distinct on (c.month) c.month, c.run_id, r.fingerprint, c.registry_key
from unnest($1::int[], $2::int8[]) as w(month, month_version)
join result_month_carries c
  on c.month = w.month and c.month_version = w.month_version
 and c.profile_key = $3 and c.global_version = $4
join result_runs r on r.id = c.run_id
where r.kind = 'month' and r.scope_unit_id is null and r.status = 'complete'
order by c.month, c.run_id desc

-- name: carry_read
select run_id, carry from result_month_carries where run_id = any($1::int8[])

-- name: carry_delete
delete from result_month_carries where run_id = any($1::int8[])
