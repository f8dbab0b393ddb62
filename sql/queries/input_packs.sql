-- name: pack_put
insert into input_packs (kind, year, version, payload, snapshot)
values ($1, $2, $3, $4, $5::text::pg_snapshot)
on conflict (kind, year) do update
set version = excluded.version, payload = excluded.payload, snapshot = excluded.snapshot

-- name: month_pack_put
-- A month's stored pack is replaced only by one read in a snapshot that sees every
-- transaction its own saw (taken after its snapshot's xmax), so the change notes its
-- snapshot has seen can be forgotten (input_changes.sql changes_forget). Otherwise the
-- stored one stays: as valid, patched by the notes it has not seen.
insert into input_packs (kind, year, version, payload, snapshot)
values ($1, $2, $3, $4, $5::text::pg_snapshot)
on conflict (kind, year) do update
set version = excluded.version, payload = excluded.payload, snapshot = excluded.snapshot
where input_packs.snapshot is null or excluded.snapshot is null
   or pg_snapshot_xmax(input_packs.snapshot) <= pg_snapshot_xmin(excluded.snapshot)

-- name: packs_get
-- input_packs_pkey: of the (kind, year, version) asked for, the packs that exist.
select p.kind, p.year, p.payload
from input_packs p
join unnest($1::text[], $2::int[], $3::bigint[]) as w (kind, year, version)
  on p.kind = w.kind and p.year = w.year and p.version = w.version

-- name: packs_get_any
-- input_packs_pkey: the stored packs of these (kind, year) at any version, with the snapshot
-- they were read in (those without one cannot be patched).
select p.kind, p.year, p.version, p.payload, p.snapshot::text as snapshot
from input_packs p
join unnest($1::text[], $2::int[]) as w (kind, year) on p.kind = w.kind and p.year = w.year
where p.snapshot is not null

-- name: packs_forget_other_formats
delete from input_packs where right(kind, length($1)) <> $1
