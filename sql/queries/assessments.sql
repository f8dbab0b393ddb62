-- name: upsert
-- supervisor_assessments_pkey arbitrates; unchanged rows are not rewritten.
insert into supervisor_assessments as a (
    cadre_id, month, politics, capacity, innovation, organising, cohesion, assessed_by)
select * from unnest($1::bigint[], $2::int[], $3::float8[], $4::float8[], $5::float8[],
                     $6::float8[], $7::float8[], $8::text[])
on conflict (cadre_id, month) do update set
    politics = excluded.politics, capacity = excluded.capacity,
    innovation = excluded.innovation, organising = excluded.organising,
    cohesion = excluded.cohesion, assessed_by = excluded.assessed_by, updated_at = now()
where (a.politics, a.capacity, a.innovation, a.organising, a.cohesion, a.assessed_by)
      is distinct from (excluded.politics, excluded.capacity, excluded.innovation,
                        excluded.organising, excluded.cohesion, excluded.assessed_by)
returning (xmax = 0) as inserted

-- name: select
select c.code as cadre_code, a.month, a.politics, a.capacity, a.innovation, a.organising,
       a.cohesion, a.assessed_by, a.updated_at
from supervisor_assessments a join cadres c on c.id = a.cadre_id

-- name: count
select count(*) from supervisor_assessments a join cadres c on c.id = a.cadre_id
