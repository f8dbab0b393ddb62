-- name: changes_since
-- input_changes_month_idx: the notes of month $1 (and of every month) that the snapshot $2
-- did not see: changes committed after the pack read in it was read.
select distinct tbl, cadre_id from input_changes
where (month = $1 or month is null) and not pg_visible_in_snapshot(xid, $2::text::pg_snapshot)

-- name: changes_forget
-- The notes of the month that its stored pack has seen: no run patches from before that pack
-- (a pack is only ever replaced by one whose snapshot sees more: pack_put).
delete from input_changes c
using input_packs p
where p.kind = $1 and p.year = $2 and c.month = p.year
  and p.snapshot is not null and pg_visible_in_snapshot(c.xid, p.snapshot)
