-- name: id_by_code
-- units_code_key.
select id from units where code = $1

-- name: ids_by_codes
select code, id from units where code = any($1::text[])

-- name: in_subtree
-- True when unit $2 is $1 or below it; walks up from $2 (the tree is shallow), units_pkey.
with recursive up as (
    select id, parent_id from units where id = $2
    union all
    select u.id, u.parent_id from units u join up on u.id = up.parent_id
)
select exists (select 1 from up where id = $1)

-- name: subtree_ids
-- All units at or below $1; units_parent_idx drives each step down.
with recursive down as (
    select id from units where id = $1
    union all
    select u.id from units u join down on u.parent_id = down.id
)
select array_agg(id) from down
