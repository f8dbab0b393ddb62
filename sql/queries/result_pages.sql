-- Reads of the results pages that a page of a city-wide unit must not pay for with every
-- member of the city (issue 14): one page of members in name order, walked from
-- result_org_cadres_name_idx (0080) when the unit's subtree is most of the city, from the
-- run's unit index and a sort of the few rows when it is small (the planner chooses).

-- name: source_org
select org_id from result_runs where id = $1

-- name: members_page_year
select c.code, c.full_name, c.position, u.code as unit_code, x.y as score, x.level, x.reasons
from result_org_cadres c
join cadre_year_results x on x.run_id = $1 and x.cadre_id = c.cadre_id
join result_org_units u on u.org_id = $2 and u.unit_id = x.unit_id
where c.org_id = $2 and x.unit_id = any($3::bigint[])
order by c.name_key, c.code
limit $4 offset $5

-- name: members_page_period
select c.code, c.full_name, c.position, u.code as unit_code, x.m as score, x.level, x.reasons
from result_org_cadres c
join cadre_period_results x on x.run_id = $1 and x.cadre_id = c.cadre_id
join result_org_units u on u.org_id = $2 and u.unit_id = x.unit_id
where c.org_id = $2 and x.unit_id = any($3::bigint[])
order by c.name_key, c.code
limit $4 offset $5
