-- name: pack_get
-- input_packs_pkey: the pack of (kind, year) if it was read at this version.
select payload from input_packs where kind = $1 and year = $2 and version = $3

-- name: pack_put
insert into input_packs (kind, year, version, payload) values ($1, $2, $3, $4)
on conflict (kind, year) do update set version = excluded.version, payload = excluded.payload
