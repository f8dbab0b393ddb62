-- name: carry_upsert
-- A run's carry; a later run that found the same month unchanged re-stamps the versions.
insert into result_month_carries (run_id, month, global_version, month_version, carry_key, carry)
values ($1, $2, $3, $4, $5, $6)
on conflict (run_id) do update
set global_version = excluded.global_version, month_version = excluded.month_version

-- name: carry_restamp
-- The month's inputs changed version but not content (same month fingerprint): the carry
-- of that run is valid at the new versions too.
update result_month_carries
set global_version = $2, month_version = $3
where run_id = $1 and carry_key = $4

-- name: carry_candidates
-- result_month_carries_lookup_idx: per month ($1) at its version ($2), the newest complete
-- city-wide month run computed from the same inputs under the same registry digest and
-- profile ($3) and month-0 version ($4).
select distinct on (c.month) c.month, c.run_id, r.fingerprint
from unnest($1::int[], $2::int8[]) as w(month, month_version)
join result_month_carries c
  on c.month = w.month and c.month_version = w.month_version
 and c.carry_key = $3 and c.global_version = $4
join result_runs r on r.id = c.run_id
where r.kind = 'month' and r.scope_unit_id is null and r.status = 'complete'
order by c.month, c.run_id desc

-- name: carry_read
select run_id, carry from result_month_carries where run_id = any($1::int8[])
