-- name: pack_put
insert into input_packs (kind, year, version, payload) values ($1, $2, $3, $4)
on conflict (kind, year) do update set version = excluded.version, payload = excluded.payload

-- name: packs_get
-- input_packs_pkey: of the (kind, year, version) asked for, the packs that exist.
select p.kind, p.year, p.payload
from input_packs p
join unnest($1::text[], $2::int[], $3::bigint[]) as w (kind, year, version)
  on p.kind = w.kind and p.year = w.year and p.version = w.version

-- name: packs_forget_other_formats
delete from input_packs where right(kind, length($1)) <> $1
