-- Sealed sheets, the counting committee, receipts, channels, two-person paper uploads
-- (store/ballot_committee.py, store/ballot_sheets.py, store/ballot_opening.py).

-- name: committee_clear
delete from ballot_committee where round_id = $1

-- name: committee_insert
insert into ballot_committee (round_id, user_id)
select $1, unnest($2::bigint[])

-- name: committee_members
-- ballot_committee_pkey.
select m.user_id, u.username, u.full_name, m.share_index, m.share_hash,
       m.wrapped_share is not null as pending, m.collected_at,
       u.committee_public_key, m.sealed_share, m.member_public_key
from ballot_committee m join users u on u.id = m.user_id
where m.round_id = $1
order by m.user_id

-- name: users_by_username
select id, username, disabled_at from users where username = any($1::text[])

-- name: committee_deal
-- Each share sealed to its member's registered key (0056); nothing the service can open.
update ballot_committee m
set share_index = x.share_index, share_hash = x.share_hash, sealed_share = x.sealed,
    member_public_key = x.member_key, wrapped_share = null
from unnest($2::bigint[], $3::int[], $4::bytea[], $5::bytea[], $6::bytea[])
    as x (user_id, share_index, share_hash, sealed, member_key)
where m.round_id = $1 and m.user_id = x.user_id

-- name: committee_sealed_share
-- A member fetches their sealed share (any number of times: only their key opens it);
-- the first fetch is recorded.
update ballot_committee
set collected_at = coalesce(collected_at, now())
where round_id = $1 and user_id = $2 and sealed_share is not null
returning share_index, sealed_share, member_public_key

-- name: committee_key_set
update users set committee_public_key = $2, committee_key_at = now()
where id = $1
returning committee_key_at

-- name: committee_key_get
select committee_public_key, committee_key_at from users where id = $1

-- name: committee_take_share
-- Row lock: two downloads at once give the share to one of them only.
update ballot_committee m
set wrapped_share = null, collected_at = now()
from (select wrapped_share from ballot_committee
      where round_id = $1 and user_id = $2 for update) old
where m.round_id = $1 and m.user_id = $2 and old.wrapped_share is not null
returning old.wrapped_share, m.share_index

-- name: round_set_key
update ballot_rounds set public_key = $2 where id = $1

-- name: round_set_threshold
update ballot_rounds set threshold = $2 where id = $1

-- name: round_crypto
select id, status, threshold, public_key, receipts_root, sheets_counted, sheets_invalid,
       ballots_online, ballots_paper, closed_by
from ballot_rounds where id = $1

-- name: voters_set_paper
update ballot_round_voters set channel = 'paper'
where round_id = $1 and cadre_id = any($2::bigint[])

-- name: paper_voter_codes
select c.code from ballot_round_voters v join cadres c on c.id = v.cadre_id
where v.round_id = $1 and v.channel = 'paper'

-- name: targets_set_eligible_paper
-- Paper voters of a target's group, the target excluded (as targets_set_eligible).
with g as (
    select group_id, count(*)::int as n from ballot_round_voters
    where round_id = $1 and channel = 'paper' group by group_id
),
e as (
    select t.cadre_id, coalesce(g.n, 0) - (v.cadre_id is not null)::int as n
    from ballot_round_targets t
    left join g on g.group_id = t.group_id
    left join ballot_round_voters v
        on v.round_id = $1 and v.cadre_id = t.cadre_id and v.channel = 'paper'
    where t.round_id = $1
)
update ballot_round_targets t set eligible_paper = e.n
from e where t.round_id = $1 and t.cadre_id = e.cadre_id

-- name: voter_by_token
-- ballot_round_voters_token_key.
select id, round_id, cadre_id, group_id, channel from ballot_round_voters where token_hash = $1

-- name: round_targets_by_codes
select t.cadre_id, t.form, t.group_id, c.code
from ballot_round_targets t join cadres c on c.id = t.cadre_id
where t.round_id = $1 and c.code = any($2::text[])

-- name: ledger_insert_many
insert into ballot_ledger (tag, round_id) select unnest($1::bytea[]), $2

-- name: sheet_insert
insert into ballot_sheets (round_id, sealed, targets_tag, receipt) values ($1, $2, $3, $4)

-- name: sheets_read
-- ballot_sheets_round_idx; the whole round, only at close, as one binary COPY
-- (store/sheet_batches.py reads the fields in this order).
select receipt, targets_tag, sealed from ballot_sheets where round_id = $1

-- name: sheets_count
select count(*)::int from ballot_sheets where round_id = $1

-- name: sheets_delete
delete from ballot_sheets where round_id = $1

-- name: receipts_of_round
-- ballot_receipts_pkey, in sorted order (the tree's leaf order).
select receipt from ballot_receipts where round_id = $1 order by receipt

-- name: receipt_pending
select exists (select 1 from ballot_sheets where round_id = $1 and receipt = $2)

-- name: round_set_counted
update ballot_rounds
set receipts_root = $2, sheets_counted = $3, sheets_invalid = $4, ballots_online = $5,
    ballots_paper = $6, closed_by = $7
where id = $1

-- name: paper_per_target
-- Paper ballots stored so far (online ones reach `ballots` only at close): ballots_round_idx.
select target_id, sum(n_ballots)::int as n from ballots where round_id = $1 group by target_id

-- name: paper_ballots_total
select coalesce(sum(n_ballots), 0)::int from ballots where round_id = $1

-- name: upload_claim
-- ballot_uploads_pkey: a concurrent retry with the same key waits here for the first one.
insert into ballot_uploads (round_id, idempotency_key, body_sha256, ballots, uploaded_by,
                            content_type, body, confirmed_by, confirmed_at)
values ($1, $2, $3, $4, $5, $6, $7, null, null)
on conflict (round_id, idempotency_key) do nothing
returning id

-- name: upload_get
select id, body_sha256, ballots, uploaded_by, confirmed_by, confirmed_at
from ballot_uploads where round_id = $1 and idempotency_key = $2

-- name: upload_lock
select id, round_id, body, content_type, ballots, uploaded_by, confirmed_by, confirmed_at,
       created_at
from ballot_uploads where round_id = $1 and id = $2 for update

-- name: upload_confirm
update ballot_uploads set confirmed_by = $3, confirmed_at = now(), body = null
where round_id = $1 and id = $2

-- name: uploads_list
select id, idempotency_key, ballots, uploaded_by, created_at, confirmed_by, confirmed_at
from ballot_uploads where round_id = $1 order by id

-- name: paper_targets
-- Targets with their paper voters as `eligible` (the paper capacity), ordered by id.
select t.cadre_id, c.code, t.form, t.eligible_paper as eligible
from ballot_round_targets t join cadres c on c.id = t.cadre_id
where t.round_id = $1
order by t.cadre_id

-- name: online_targets
select t.cadre_id, c.code, t.form
from ballot_round_targets t join cadres c on c.id = t.cadre_id
where t.round_id = $1

-- name: round_exists
select exists (select 1 from ballot_rounds where id = $1)

-- name: round_public_key
select public_key from ballot_rounds where id = $1

-- name: sealed_sheet_write
-- One statement for a whole sheet (as sheets.sql's sheet_write): the round row held FOR
-- SHARE and still open inside its window, the ledger rows (any tag already there fails the
-- statement), the sealed sheet. Answers 1 when stored, 0 when the round takes no ballots.
with r as (
    select id from ballot_rounds
    where id = $1 and status = 'open' and opens_at <= now() and now() < closes_at
    for share
),
ledger as (
    insert into ballot_ledger (tag, round_id, sheet)
    select t.tag, r.id, t.sheet from r, unnest($2::bytea[], $3::bool[]) as t (tag, sheet)
),
sheet as (
    insert into ballot_sheets (round_id, sealed, targets_tag, receipt)
    select r.id, $4, $5, $6 from r
)
select count(*)::int from r

-- name: targets_add_paper
-- A confirmed upload's ballots per target (0057): $2 target ids, $3 their counts.
update ballot_round_targets t set paper_ballots = coalesce(t.paper_ballots, 0) + x.n
from unnest($2::bigint[], $3::int[]) as x (target_id, n)
where t.round_id = $1 and t.cadre_id = x.target_id
