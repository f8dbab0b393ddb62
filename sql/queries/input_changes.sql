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

-- name: months_to_repack
-- Months whose change notes a patch would not absorb cheaply: no patchable pack of kind $1,
-- a table changed as a whole, or at least $2 cadres of a table noted since the pack's snapshot.
select distinct month from (
    select c.month
    from input_changes c
    left join input_packs p on p.kind = $1 and p.year = c.month
    where c.month is not null and c.tbl in (1, 2)
      and (p.snapshot is null or not pg_visible_in_snapshot(c.xid, p.snapshot))
    group by c.month, c.tbl
    having bool_or(p.snapshot is null) or bool_or(c.cadre_id is null)
        or count(distinct c.cadre_id) >= $2
) stale
order by month
