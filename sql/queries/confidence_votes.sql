-- name: upsert
-- confidence_votes_pkey arbitrates; unchanged rows are not rewritten.
insert into confidence_votes as v (cadre_id, vote_date, eligible, present, high, medium, low)
select * from unnest($1::bigint[], $2::date[], $3::int[], $4::int[], $5::int[], $6::int[],
                     $7::int[])
on conflict (cadre_id, vote_date) do update set
    eligible = excluded.eligible, present = excluded.present, high = excluded.high,
    medium = excluded.medium, low = excluded.low, updated_at = now()
where (v.eligible, v.present, v.high, v.medium, v.low)
      is distinct from (excluded.eligible, excluded.present, excluded.high, excluded.medium,
                        excluded.low)
returning (xmax = 0) as inserted

-- name: select
select c.code as cadre_code, v.vote_date, v.eligible, v.present, v.high, v.medium, v.low,
       v.updated_at
from confidence_votes v join cadres c on c.id = v.cadre_id

-- name: count
select count(*) from confidence_votes v join cadres c on c.id = v.cadre_id
