-- The result views (docs/results_sql.md): stable names and columns for SQL and BI tools.
-- Not a numbered migration: applied after all of them at every start-up when this file
-- changed (store/migrations.py), so the views may use any column a migration added. They
-- are dropped and created again in one transaction.
drop view if exists ratings_month, ratings_year, unit_results, ratings_month_by_run, ratings_year_by_run, unit_results_by_run, result_published_sets, result_period_rows cascade;

-- Every view reads result_runs for the run's profile and organisation snapshot.
--
-- Partition pruning (the tables have one partition per run): a view restricts the run id
-- of a result table either by equality with the id asked for (`where run_id = …`: pruned
-- when planned or at executor start-up) or, where the run comes from another row (the
-- published pointer, a year's month runs), inside a LATERAL subquery whose ORDER BY keeps
-- it a subquery: it runs once per pointer row with that row's run id as a parameter, so
-- only that run's partition is read ("never executed" for the others in EXPLAIN ANALYZE),
-- and the caller's conditions (a unit, a cadre) still reach its indexes.

-- The period rows of one run (source_run_id: the run holding them), named as that run's
-- organisation snapshot has them. A building block of the ratings_month views.
create view result_period_rows as
select s.id as source_run_id, s.period,
       oc.code as cadre_code, oc.full_name, oc.personnel_type, oc.position, oc.peer_group,
       ou.code as unit_code, ou.name as unit_name, ou.ranking_block,
       ag.code as agency_code, ag.name as agency_name,
       nullif(x.m, 'NaN') as score, lv.code as level_code, lv.label_vi as level_label,
       coalesce(rs.codes, '{}') as reasons,
       nullif(x.a, 'NaN') as a, nullif(x.b, 'NaN') as b, nullif(x.c, 'NaN') as c,
       nullif(x.d, 'NaN') as d, nullif(x.dd, 'NaN') as "đ", nullif(x.e, 'NaN') as e,
       nullif(x.kq, 'NaN') as kq, nullif(x.t, 'NaN') as t, nullif(x.g, 'NaN') as g,
       nullif(x.g_raw, 'NaN') as g_raw, nullif(x.deduction, 'NaN') as deductions,
       x.n_manifestations, nullif(x.assigned, 'NaN') as assigned,
       nullif(x.done, 'NaN') as done, nullif(x.bonus, 'NaN') as bonus,
       x.cadre_id, x.unit_id
from result_runs s
join cadre_period_results x on x.run_id = s.id
join result_org_cadres oc on oc.org_id = s.org_id and oc.cadre_id = x.cadre_id
join result_org_units ou on ou.org_id = s.org_id and ou.unit_id = x.unit_id
left join result_org_units ag on ag.org_id = s.org_id and ag.unit_id = ou.agency_unit_id
left join result_reason_sets rs on rs.mask = x.reasons
join result_levels lv on lv.level = x.level;

-- Any run by id (appeals, comparisons): run_id is the run asked for; a year run's period
-- rows come from the month runs it names (source_run_id).
create view ratings_month_by_run as
select r.id as run_id, w.source_run_id, w.period, r.kind as run_kind,
       r.profile_name, r.profile_version, r.variant_digest, r.variant, r.scoring_version,
       w.cadre_code, w.full_name, w.personnel_type, w.position, w.peer_group,
       w.unit_code, w.unit_name, w.ranking_block, w.agency_code, w.agency_name,
       w.score, w.level_code, w.level_label, w.reasons,
       w.a, w.b, w.c, w.d, w."đ", w.e, w.kq, w.t, w.g, w.g_raw, w.deductions,
       w.n_manifestations, w.assigned, w.done, w.bonus, w.cadre_id, w.unit_id
from result_runs r
cross join lateral unnest(r.month_runs) as src (id)
cross join lateral (
    select * from result_period_rows p where p.source_run_id = src.id order by p.cadre_id
) w;

create view ratings_year_by_run as
select r.id as run_id, r.period, r.profile_name, r.profile_version, r.variant_digest,
       r.variant, r.scoring_version,
       oc.code as cadre_code, oc.full_name, oc.personnel_type, oc.position, oc.peer_group,
       ou.code as unit_code, ou.name as unit_name, ou.ranking_block,
       ag.code as agency_code, ag.name as agency_name,
       nullif(x.y, 'NaN') as score, lv.code as level_code, lv.label_vi as level_label,
       coalesce(rs.codes, '{}') as reasons,
       x.periods_scored, x.worked as months_worked, x.rem_due, x.rem_on_time, x.rem_verified,
       nullif(x.remediation_rate, 'NaN') as remediation_rate, x.n_manifestations,
       x.violations, nullif(x.done_share, 'NaN') as done_share,
       nullif(x.exceeded_share, 'NaN') as exceeded_share,
       nullif(x.late_share, 'NaN') as late_share,
       lb.code as level_base, x.level_overrides, x.level_caps, x.level_gates, x.level_link,
       nullif(x.quota_keep_rank, -1) as quota_keep_rank,
       x.cadre_id, x.unit_id
from result_runs r
join cadre_year_results x on x.run_id = r.id
join result_org_cadres oc on oc.org_id = r.org_id and oc.cadre_id = x.cadre_id
join result_org_units ou on ou.org_id = r.org_id and ou.unit_id = x.unit_id
left join result_org_units ag on ag.org_id = r.org_id and ag.unit_id = x.agency_id
left join result_reason_sets rs on rs.mask = x.reasons
join result_levels lv on lv.level = x.level
join result_levels lb on lb.level = x.level_base;

create view unit_results_by_run as
select r.id as run_id,
       case when x.annual then r.period else to_char(x.month, 'YYYY-MM') end as period,
       x.annual, r.profile_name, r.profile_version, r.variant_digest, r.variant,
       r.scoring_version,
       ou.code as unit_code, ou.name as unit_name, ou.kind as unit_kind, ou.ranking_block,
       ag.code as agency_code,
       nullif(x.u, 'NaN') as score, nullif(x.u1, 'NaN') as u1, nullif(x.u2, 'NaN') as u2,
       nullif(x.u3, 'NaN') as u3, nullif(x.u4, 'NaN') as u4, nullif(x.u5, 'NaN') as u5,
       x.members, x.kht as kht_members, x.pairs as confirmed_pairs,
       lv.code as level_code, lv.label_vi as level_label,
       nullif(x.rank, -1) as rank, nullif(x.prev_rank, -1) as previous_rank, x.movement,
       nullif(x.rank_low, 'NaN') as rank_low, nullif(x.rank_high, 'NaN') as rank_high,
       x.unit_id
from result_runs r
join result_units x on x.run_id = r.id
join result_org_units ou on ou.org_id = r.org_id and ou.unit_id = x.unit_id
left join result_org_units ag on ag.org_id = r.org_id and ag.unit_id = ou.agency_unit_id
join result_levels lv on lv.level = x.level;

-- The published run of every period: the period's own pointer, and for the months of a
-- published year run that have no published run of their own, that year run.
create view result_published_sets as
select p.period, p.run_id from result_published p
union all
select to_char(m, 'YYYY-MM'), p.run_id
from result_published p
join result_runs r on r.id = p.run_id and r.kind = 'year'
cross join lateral generate_series(r.first_month::timestamp,
                                   r.first_month + (r.months - 1) * interval '1 month',
                                   interval '1 month') as m
where not exists (select 1 from result_published q where q.period = to_char(m, 'YYYY-MM'));

-- The published sets. Same columns as the *_by_run views; each pointer row reads its run's
-- partitions only (the LATERAL form above).
create view ratings_month as
select r.id as run_id, w.source_run_id, ps.period, r.kind as run_kind,
       r.profile_name, r.profile_version, r.variant_digest, r.variant, r.scoring_version,
       w.cadre_code, w.full_name, w.personnel_type, w.position, w.peer_group,
       w.unit_code, w.unit_name, w.ranking_block, w.agency_code, w.agency_name,
       w.score, w.level_code, w.level_label, w.reasons,
       w.a, w.b, w.c, w.d, w."đ", w.e, w.kq, w.t, w.g, w.g_raw, w.deductions,
       w.n_manifestations, w.assigned, w.done, w.bonus, w.cadre_id, w.unit_id
from result_published_sets ps
join result_runs r on r.id = ps.run_id
join result_runs s on s.id = any (r.month_runs) and s.period = ps.period
cross join lateral (
    select * from result_period_rows p where p.source_run_id = s.id order by p.cadre_id
) w;

create view ratings_year as
select w.run_id, ps.period, w.profile_name, w.profile_version, w.variant_digest,
       w.variant, w.scoring_version,
       w.cadre_code, w.full_name, w.personnel_type, w.position, w.peer_group,
       w.unit_code, w.unit_name, w.ranking_block, w.agency_code, w.agency_name,
       w.score, w.level_code, w.level_label, w.reasons,
       w.periods_scored, w.months_worked, w.rem_due, w.rem_on_time, w.rem_verified,
       w.remediation_rate, w.n_manifestations, w.violations, w.done_share,
       w.exceeded_share, w.late_share, w.level_base, w.level_overrides, w.level_caps,
       w.level_gates, w.level_link, w.quota_keep_rank, w.cadre_id, w.unit_id
from result_published ps
cross join lateral (
    select * from ratings_year_by_run y where y.run_id = ps.run_id order by y.cadre_id
) w;

create view unit_results as
select w.run_id, ps.period, w.annual, w.profile_name, w.profile_version, w.variant_digest,
       w.variant, w.scoring_version, w.unit_code, w.unit_name, w.unit_kind, w.ranking_block,
       w.agency_code, w.score, w.u1, w.u2, w.u3, w.u4, w.u5, w.members, w.kht_members,
       w.confirmed_pairs, w.level_code, w.level_label, w.rank, w.previous_rank, w.movement,
       w.rank_low, w.rank_high, w.unit_id
from result_published_sets ps
cross join lateral (
    select * from unit_results_by_run u
    where u.run_id = ps.run_id and u.period = ps.period
    order by u.unit_id
) w;

grant select on ratings_month, ratings_year, unit_results, ratings_month_by_run,
    ratings_year_by_run, unit_results_by_run, result_published_sets to evalsvc_reader;

