-- name: open_items
-- New items; an item with an origin_ref that exists already is left as it is
-- (remediation_items_origin_key). Returns the ids of the rows inserted now.
insert into remediation_items (
    cadre_id, unit_id, origin, origin_ref, item_code, description, identified_on, due_on)
select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                     $6::text[], $7::date[], $8::date[])
on conflict (origin, origin_ref, (coalesce(cadre_id, -unit_id)), item_code)
    where origin_ref is not null
    do nothing
returning id

-- name: select
-- Overdue and late verification are derived from the dates by the caller, never stored.
select r.id, c.code as cadre_code, u.code as unit_code, r.origin, r.origin_ref, r.item_code,
       r.description, r.identified_on, r.due_on, r.status, r.verified_by, r.verified_on,
       r.cancel_reason, r.created_at, r.updated_at
from remediation_items r
left join cadres c on c.id = r.cadre_id
left join units u on u.id = r.unit_id

-- name: count
select count(*)
from remediation_items r
left join cadres c on c.id = r.cadre_id
left join units u on u.id = r.unit_id

-- name: subject_unit
-- The unit an item belongs to (the cadre's unit for a cadre item), for scope checks; pkey.
select r.status, r.identified_on, coalesce(r.unit_id, c.unit_id) as unit_id
from remediation_items r left join cadres c on c.id = r.cadre_id
where r.id = $1
for update of r

-- name: verify
update remediation_items
set status = 'done', verified_by = $2, verified_on = $3, updated_at = now()
where id = $1 and status = 'open'

-- name: cancel
update remediation_items
set status = 'cancelled', cancel_reason = $2, updated_at = now()
where id = $1 and status = 'open'

-- name: open_from_ballot_round
-- One item per (cadre, flagged manifestation) of a closed round: $2 = 'confirmed' opens only
-- confirmed items, 'watch' opens confirmed and watched ones. Idempotent through
-- remediation_items_origin_key (origin_ref = 'round:<id>').
insert into remediation_items (
    cadre_id, origin, origin_ref, item_code, description, identified_on, due_on)
select f.target_id, 'ballot_round', 'round:' || f.round_id, f.item_code,
       i.text || case when f.flag = 'confirmed' then ' (xác nhận qua lấy phiếu)'
                      else ' (cần xác minh)' end,
       current_date, current_date + $3::int
from ballot_flags f
join ballot_rounds r on r.id = f.round_id
join catalog_items i on i.catalog_id = r.catalog_id and i.code = f.item_code
where f.round_id = $1 and (f.flag = 'confirmed' or $2 = 'watch')
on conflict (origin, origin_ref, (coalesce(cadre_id, -unit_id)), item_code)
    where origin_ref is not null
    do nothing
