-- name: upsert
-- unit_indicators_pkey arbitrates; unchanged rows are not rewritten.
insert into unit_indicators as i (
    unit_id, month, satisfaction_pct, dossiers_received, dossiers_late, par_score)
select * from unnest($1::bigint[], $2::int[], $3::float8[], $4::int[], $5::int[],
                     $6::float8[])
on conflict (unit_id, month) do update set
    satisfaction_pct = excluded.satisfaction_pct,
    dossiers_received = excluded.dossiers_received, dossiers_late = excluded.dossiers_late,
    par_score = excluded.par_score, updated_at = now()
where (i.satisfaction_pct, i.dossiers_received, i.dossiers_late, i.par_score)
      is distinct from (excluded.satisfaction_pct, excluded.dossiers_received,
                        excluded.dossiers_late, excluded.par_score)
returning (xmax = 0) as inserted

-- name: select
select u.code as unit_code, i.month, i.satisfaction_pct, i.dossiers_received, i.dossiers_late,
       i.par_score, i.updated_at
from unit_indicators i join units u on u.id = i.unit_id

-- name: count
select count(*) from unit_indicators i join units u on u.id = i.unit_id
