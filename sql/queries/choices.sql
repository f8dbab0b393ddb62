-- Short lists for the pages' pickers (store/choices.py).

-- name: units
-- units_name_idx; $1 = the caller's subtree ids, null = the whole city.
select id, code, name from units
where $1::bigint[] is null or id = any($1::bigint[])
order by name_key, code

-- name: published_catalogs
select id, name, version, title from catalogs where status = 'published'
order by name, version desc
