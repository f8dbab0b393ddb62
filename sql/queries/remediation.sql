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
