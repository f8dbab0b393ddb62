-- Reads of the results pages that a page of a city-wide unit must not pay for with every
-- member of the city (issue 14): one page of a unit's members in name order.

-- name: source_org
select org_id from result_runs where id = $1

-- Two plans, chosen by the caller from the subtree's share of the city:
-- * walk: the organisation's members in name order (result_org_cadres_name_idx, 0080),
--   each looked up in the run's partition by cadre id, until the page is full. The ordered
--   subquery is not flattened and arrives sorted, so a nested loop keeps its order and the
--   limit stops it: for the city's root the first page reads 300 rows, not 200,000.
-- * sort: the subtree's rows from the run's unit index, joined and sorted (a small unit).

-- name: members_walk_year
select c.code, c.full_name, c.position, u.code as unit_code, x.y as score, x.level, x.reasons
from (select cadre_id, code, full_name, position, name_key from result_org_cadres
      where org_id = $2 order by name_key, code) c
cross join lateral (select y, level, reasons, unit_id from cadre_year_results
                    where run_id = $1 and cadre_id = c.cadre_id
                      and unit_id = any($3::bigint[])) x
join result_org_units u on u.org_id = $2 and u.unit_id = x.unit_id
order by c.name_key, c.code
limit $4 offset $5

-- name: members_walk_period
select c.code, c.full_name, c.position, u.code as unit_code, x.m as score, x.level, x.reasons
from (select cadre_id, code, full_name, position, name_key from result_org_cadres
      where org_id = $2 order by name_key, code) c
cross join lateral (select m, level, reasons, unit_id from cadre_period_results
                    where run_id = $1 and cadre_id = c.cadre_id
                      and unit_id = any($3::bigint[])) x
join result_org_units u on u.org_id = $2 and u.unit_id = x.unit_id
order by c.name_key, c.code
limit $4 offset $5

-- name: members_sort_year
select c.code, c.full_name, c.position, u.code as unit_code, x.y as score, x.level, x.reasons
from cadre_year_results x
join result_org_cadres c on c.org_id = $2 and c.cadre_id = x.cadre_id
join result_org_units u on u.org_id = $2 and u.unit_id = x.unit_id
where x.run_id = $1 and x.unit_id = any($3::bigint[])
order by c.name_key, c.code
limit $4 offset $5

-- name: members_sort_period
select c.code, c.full_name, c.position, u.code as unit_code, x.m as score, x.level, x.reasons
from cadre_period_results x
join result_org_cadres c on c.org_id = $2 and c.cadre_id = x.cadre_id
join result_org_units u on u.org_id = $2 and u.unit_id = x.unit_id
where x.run_id = $1 and x.unit_id = any($3::bigint[])
order by c.name_key, c.code
limit $4 offset $5

-- How many members hold each level: one pass over the run's partition; no unit filter
-- when the subtree is the whole city ($2 null).

-- name: levels_year
select level, count(*)::int as n from cadre_year_results
where run_id = $1 and ($2::bigint[] is null or unit_id = any($2::bigint[]))
group by level

-- name: levels_period
select level, count(*)::int as n from cadre_period_results
where run_id = $1 and ($2::bigint[] is null or unit_id = any($2::bigint[]))
group by level

-- name: unit_count
select count(*)::int from units

-- name: tally_targets_upto
-- How many people a round's tallies hold, counted up to $2 only (ballot_tallies_pkey): a
-- city-wide round holds every cadre, so the page does not count them all.
select count(*)::int from (select 1 from ballot_tallies where round_id = $1 limit $2) t
