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

-- name: upsert
-- units_code_key arbitrates; an unchanged row is not rewritten (updated_at keeps its value).
insert into units as u (code, name, name_key, search_text, kind, ranking_block)
select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
on conflict (code) do update
set name = excluded.name, name_key = excluded.name_key, search_text = excluded.search_text,
    kind = excluded.kind,
    ranking_block = excluded.ranking_block, updated_at = now()
where (u.name, u.kind, u.ranking_block) is distinct from
      (excluded.name, excluded.kind, excluded.ranking_block)
returning u.code, (xmax = 0) as inserted

-- name: set_agency
-- Only rows that sent the flag; NULL restores the default (in a ranking block).
update units u set agency = x.agency, updated_at = now()
from unnest($1::text[], $2::bool[]) as x(code, agency)
where u.code = x.code and u.agency is distinct from x.agency
returning u.code

-- name: set_parents
-- Parents may be units of the same upload, so they are linked after every row exists.
update units u set parent_id = p.id, updated_at = now()
from unnest($1::text[], $2::text[]) as x(code, parent_code)
left join units p on p.code = x.parent_code
where u.code = x.code and u.parent_id is distinct from p.id
returning u.code

-- name: cycles
-- Units of $1 that are now their own ancestor; the walk stops at the first repeat.
with recursive walk (start_id, id, path) as (
    select u.id, u.parent_id, array[u.id]
    from units u where u.code = any($1::text[]) and u.parent_id is not null
    union all
    select w.start_id, u.parent_id, w.path || u.id
    from walk w join units u on u.id = w.id
    where u.parent_id is not null and not u.id = any(w.path)
)
select distinct s.code from walk w join units s on s.id = w.start_id where w.id = w.start_id

-- name: clear_outstanding
-- Two statements, not one CTE: a CTE's insert would still see the rows its delete removes.
delete from unit_outstanding_years o using units u
where u.id = o.unit_id and u.code = any($1::text[])

-- name: touch
update units set updated_at = now() where code = any($1::text[])

-- name: add_outstanding
-- $2 years as one flat array paired with the unit codes in $1.
insert into unit_outstanding_years (unit_id, year)
select u.id, x.year from unnest($1::text[], $2::int[]) as x(code, year)
join units u on u.code = x.code
on conflict do nothing

-- name: existing_codes
select code from units where code = any($1::text[])

-- name: select
select u.id, u.code, u.name, u.kind, p.code as parent_code, u.ranking_block,
       coalesce(u.agency, u.ranking_block is not null) as agency,
       coalesce((select array_agg(o.year order by o.year) from unit_outstanding_years o
                 where o.unit_id = u.id), '{}') as outstanding_years,
       u.created_at, u.updated_at
from units u left join units p on p.id = u.parent_id

-- name: count
select count(*) from units u left join units p on p.id = u.parent_id

-- name: outstanding_of
select u.code, array_agg(o.year order by o.year) as years
from units u join unit_outstanding_years o on o.unit_id = u.id
where u.code = any($1::text[])
group by u.code
