-- The voter's whole sheet (store/sheets.py). Nothing here selects a ballot; the ledger rows
-- hold only keyed hashes.

-- name: voter_round
-- ballot_round_voters_token_key, then the round by its primary key.
select v.id as voter_id, v.round_id, v.cadre_id, v.group_id, c.full_name,
       r.title, r.status, r.opens_at, r.closes_at, r.catalog_id, r.period_kind, r.period_start,
       u.name as unit_name, now() as now
from ballot_round_voters v
join cadres c on c.id = v.cadre_id
join ballot_rounds r on r.id = v.round_id
join units u on u.id = r.unit_id
where v.token_hash = $1

-- name: colleagues
-- The targets of the voter's group, themselves excluded, in Vietnamese name order.
select t.cadre_id, c.code, c.full_name, t.form, c.position, un.name as unit_name
from ballot_round_targets t
join cadres c on c.id = t.cadre_id
join units un on un.id = c.unit_id
where t.round_id = $1 and t.group_id = $2 and t.cadre_id <> $3
order by c.name_key, c.code

-- name: voter_sheet
-- The voter by their code's hash, their round, and their colleagues (one row each; none if
-- the code is unknown or the voter has no colleague). ballot_round_voters_token_key, then
-- ballot_round_targets_pkey. No lock: sheet_write checks the round again, under lock.
select v.id as voter_id, v.round_id, r.status, r.opens_at, r.closes_at, r.catalog_id,
       r.public_key, now() as now, t.cadre_id, c.code, t.form
from ballot_round_voters v
join ballot_rounds r on r.id = v.round_id
join ballot_round_targets t
    on t.round_id = v.round_id and t.group_id = v.group_id and t.cadre_id <> v.cadre_id
join cadres c on c.id = t.cadre_id
where v.token_hash = $1

-- name: voter_state
-- The voter and round alone (when voter_sheet found no row).
select v.id as voter_id, v.round_id, r.status, r.opens_at, r.closes_at, r.catalog_id,
       r.public_key, now() as now
from ballot_round_voters v join ballot_rounds r on r.id = v.round_id
where v.token_hash = $1

-- name: tags_present
select tag from ballot_ledger where tag = any($1::bytea[])

-- name: sheets_finished
-- "N of M voters have finished": the sheet rows of the ledger (ballot_ledger_sheets_idx).
select count(*)::int from ballot_ledger where round_id = $1 and sheet

-- name: sheet_insert
insert into ballot_ledger (tag, round_id, sheet) values ($1, $2, true)
on conflict (tag) do nothing
