-- name: upsert
-- discipline_records_key arbitrates; unchanged rows are not rewritten (and not returned).
insert into discipline_records as d (
    cadre_id, form, track, violation_id, decision_no, decided_on, effective_on)
select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::date[], $7::date[])
on conflict (cadre_id, track, violation_id) do update set
    form = excluded.form, decision_no = excluded.decision_no,
    decided_on = excluded.decided_on, effective_on = excluded.effective_on, updated_at = now()
where (d.form, d.decision_no, d.decided_on, d.effective_on)
      is distinct from (excluded.form, excluded.decision_no, excluded.decided_on,
                        excluded.effective_on)
returning (xmax = 0) as inserted

-- name: select
select d.id, c.code as cadre_code, d.form, d.track, d.violation_id, d.decision_no,
       d.decided_on, d.effective_on, d.created_at, d.updated_at
from discipline_records d join cadres c on c.id = d.cadre_id

-- name: count
select count(*) from discipline_records d join cadres c on c.id = d.cadre_id

-- name: one
select d.id, c.code as cadre_code, d.form, d.track, d.violation_id, d.decision_no,
       d.decided_on, d.effective_on, d.created_at, d.updated_at
from discipline_records d join cadres c on c.id = d.cadre_id
where d.cadre_id = $1 and d.track = $2 and d.violation_id = $3
