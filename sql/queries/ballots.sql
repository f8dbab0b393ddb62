-- Peer ballot rounds, voters, ballots and tallies (store/ballot_rounds.py, store/ballots.py,
-- store/ballot_tally.py). No query here selects or counts a subset of a round's ballots for
-- a caller: ballots are read whole, per round, only by the tally at close.

-- name: round_insert
insert into ballot_rounds (title, unit_id, include_subunits, voting_scope, period_kind,
                           period_start, period_end, catalog_id, leader_positions, k_min,
                           opens_at, closes_at)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
returning id

-- name: round_update
update ballot_rounds
set title = $2, unit_id = $3, include_subunits = $4, voting_scope = $5, period_kind = $6,
    period_start = $7, period_end = $8, catalog_id = $9, leader_positions = $10, k_min = $11,
    opens_at = $12, closes_at = $13
where id = $1

-- name: round_get
-- ballot_rounds_pkey; counts come from the small per-round target/voter tables.
select r.id, r.title, r.unit_id, u.code as unit_code, r.include_subunits, r.voting_scope,
       r.period_kind, r.period_start, r.period_end, r.catalog_id, c.name as catalog_name,
       c.version as catalog_version, c.status as catalog_status, r.leader_positions, r.k_min,
       r.opens_at, r.closes_at, r.status, r.created_at, r.opened_at, r.closed_at, r.opened_by,
       (select count(*) from ballot_round_targets t where t.round_id = r.id) as targets,
       (select count(*) from ballot_round_voters v where v.round_id = r.id) as voters
from ballot_rounds r
join units u on u.id = r.unit_id
join catalogs c on c.id = r.catalog_id
where r.id = $1

-- name: round_lock
-- Row lock on the round: FOR UPDATE by open/close/edit, FOR SHARE by ballot writers, so a
-- close waits for in-flight submissions and no ballot lands after the tally.
select id, unit_id, status, catalog_id, k_min, opens_at, closes_at, include_subunits,
       voting_scope, leader_positions
from ballot_rounds where id = $1 for update

-- name: round_lock_share
select id, unit_id, status, catalog_id, k_min, opens_at, closes_at, now() as now
from ballot_rounds where id = $1 for share

-- name: round_list
-- ballot_rounds_unit_idx when scoped ($1 = subtree unit ids, null = city-wide).
select r.id, r.title, u.code as unit_code, r.period_kind, r.period_start, r.period_end,
       r.status, r.opens_at, r.closes_at, r.k_min, count(*) over () as total_count
from ballot_rounds r join units u on u.id = r.unit_id
where ($1::bigint[] is null or r.unit_id = any($1::bigint[]))
  and ($2::text is null or r.status = $2)
order by r.period_start desc, r.id desc
limit $3 offset $4

-- name: round_delete
delete from ballot_rounds where id = $1

-- name: round_set_status
update ballot_rounds
set status = $2,
    opened_at = case when $2 = 'open' then now() else opened_at end,
    closed_at = case when $2 = 'closed' then now() else closed_at end
where id = $1

-- name: scope_cadres
-- Cadres of the scope units (cadres_unit_idx).
select id, code, unit_id, position from cadres where unit_id = any($1::bigint[])

-- name: targets_clear
delete from ballot_round_targets where round_id = $1

-- name: voters_clear
delete from ballot_round_voters where round_id = $1

-- name: targets_insert
insert into ballot_round_targets (round_id, cadre_id, form, group_id)
select $1, t.cadre_id, t.form, t.group_id
from unnest($2::bigint[], $3::text[], $4::bigint[]) as t (cadre_id, form, group_id)

-- name: voters_insert
insert into ballot_round_voters (round_id, cadre_id, group_id)
select $1, v.cadre_id, v.group_id
from unnest($2::bigint[], $3::bigint[]) as v (cadre_id, group_id)
order by v.cadre_id

-- name: targets_set_eligible
-- Eligible voters of a target: the voters of its group, the target itself excluded. One
-- grouped pass over the round's voters and one join for the self check: a correlated EXISTS
-- here was planned as a scan of the voters per target (quadratic at city scale).
with g as (
    select group_id, count(*)::int as n from ballot_round_voters where round_id = $1
    group by group_id
),
e as (
    select t.cadre_id, g.n - (v.cadre_id is not null)::int as eligible
    from ballot_round_targets t
    join g on g.group_id = t.group_id
    left join ballot_round_voters v on v.round_id = $1 and v.cadre_id = t.cadre_id
    where t.round_id = $1
)
update ballot_round_targets t
set eligible = e.eligible
from e
where t.round_id = $1 and t.cadre_id = e.cadre_id

-- name: form_items
-- catalog_items_pkey; the order defines the bit of each item in a ballot's marks.
select code, text, group_no, for_leader, for_staff
from catalog_items where catalog_id = $1
order by ordinal, code

-- name: catalog_status
select status from catalogs where id = $1

-- name: voter_by_token
-- ballot_round_voters_token_key.
select id, round_id, cadre_id, group_id from ballot_round_voters where token_hash = $1

-- name: voter_targets
-- The targets a voter may ballot (same group, not themselves), with their ledger tags checked
-- by the caller.
select t.cadre_id, c.code, c.full_name, t.form
from ballot_round_targets t join cadres c on c.id = t.cadre_id
where t.round_id = $1 and t.group_id = $2 and t.cadre_id <> $3
order by c.name_key, c.code

-- name: ledger_existing
select tag from ballot_ledger where tag = any($1::bytea[])

-- name: comments_insert_many
insert into ballot_comments (round_id, target_id, comment)
select $1, c.target_id, c.comment from unnest($2::bigint[], $3::text[]) as c (target_id, comment)

-- name: round_targets_tally
-- What the tally needs per target, without the cadre join (ballot_round_targets_pkey order).
select cadre_id, form = 'leader' as leader, eligible
from ballot_round_targets where round_id = $1 order by cadre_id

-- name: upload_claim
-- ballot_uploads_pkey: a concurrent retry with the same key waits here for the first one.
insert into ballot_uploads (round_id, idempotency_key, body_sha256, ballots)
values ($1, $2, $3, $4)
on conflict (round_id, idempotency_key) do nothing
returning ballots

-- name: upload_get
select body_sha256, ballots from ballot_uploads where round_id = $1 and idempotency_key = $2

-- name: ballots_read
-- The whole round, read by the tally (and the compaction) at close (ballots_round_idx), as a
-- binary COPY walked block by block (store/ballot_blocks.py relies on this column order).
select n_ballots, target_id, marks from ballots where round_id = $1

-- name: ballots_delete
delete from ballots where round_id = $1

-- name: tally_summary
-- Round-level figures only (no per-target counts): ballot_tallies_pkey.
select count(*)::int as targets,
       count(*) filter (where valid >= $2)::int as targets_reported,
       count(*) filter (where quorum)::int as targets_with_quorum,
       coalesce(sum(valid), 0)::bigint as valid_ballots
from ballot_tallies where round_id = $1

-- name: tallies_list
-- ballot_tallies_pkey; flags decoded from the bitmaps. Counts only for valid >= k_min ($2).
select c.code, c.full_name, t.form, t.eligible, t.valid, t.quorum, t.low_confidence,
       t.escalated, t.valid >= $2 as reported,
       (select rt.paper_ballots from ballot_round_targets rt
        where rt.round_id = t.round_id and rt.cadre_id = t.target_id) as paper,
       coalesce((select array_agg(i.code order by i.code) from ballot_form_items i
                 where i.catalog_id = r.catalog_id and i.form = t.form
                   and (t.confirmed >> i.bit) & 1 = 1), '{}') as confirmed,
       coalesce((select array_agg(i.code order by i.code) from ballot_form_items i
                 where i.catalog_id = r.catalog_id and i.form = t.form
                   and (t.watch >> i.bit) & 1 = 1), '{}') as watch
from ballot_tallies t
join ballot_rounds r on r.id = t.round_id
join cadres c on c.id = t.target_id
where t.round_id = $1
order by c.name_key, c.code
limit $3 offset $4

-- name: tally_one
select t.target_id, c.code, c.full_name, t.form, t.eligible, t.valid, t.quorum,
       t.observed, t.no_basis, t.level_kht, t.level_ht, t.level_htt, t.level_htxs,
       t.level_blank, t.confidence_low, t.confidence_normal, t.confidence_high,
       t.confidence_blank, t.low_confidence, t.escalated,
       (select rt.paper_ballots from ballot_round_targets rt
        where rt.round_id = t.round_id and rt.cadre_id = t.target_id) as paper
from ballot_tallies t join cadres c on c.id = t.target_id
where t.round_id = $1 and c.code = $2

-- name: tally_comments
-- Sorted by their text (byte order), so the order says nothing about authors or time.
select comment from ballot_comments
where round_id = $1 and target_id = $2
order by comment collate "C"

-- name: confirmed_for_months
-- For scoring: per cadre and covered month, the confirmed items (with groups) and the
-- low-confidence flag of every closed round with quorum covering the months $2..$3
-- (first days of months), for cadres $1 (null = all). ballot_rounds_period_idx,
-- ballot_tallies_pkey; flags decoded from the tally bitmaps by the ballot_flags view.
select t.target_id as cadre_id, m.month::date as month, r.id as round_id,
       t.low_confidence, t.escalated,
       coalesce(array_agg(f.item_code order by f.item_code)
                    filter (where f.flag = 'confirmed'), '{}') as confirmed_items,
       coalesce(array_agg(f.group_no order by f.item_code)
                    filter (where f.flag = 'confirmed'), '{}') as confirmed_groups
from ballot_rounds r
join ballot_tallies t on t.round_id = r.id and t.quorum
cross join lateral generate_series(greatest(r.period_start, $2::date),
                                   least(r.period_end, $3::date), interval '1 month') as m (month)
left join ballot_flags f on f.round_id = t.round_id and f.target_id = t.target_id
where r.status = 'closed' and r.period_start <= $3::date and r.period_end >= $2::date
  and ($1::bigint[] is null or t.target_id = any($1::bigint[]))
group by t.target_id, m.month, r.id, t.low_confidence, t.escalated
order by t.target_id, m.month, r.id
