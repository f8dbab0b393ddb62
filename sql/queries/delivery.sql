-- Delivering voters' links (delivery/, store/delivery.py). Codes are made at delivery time;
-- only their keyed hash reaches ballot_round_voters. No query here touches ballots.

-- name: set_opened_by
update ballot_rounds set opened_by = $2 where id = $1

-- name: invitations_create
-- When a round opens: email for voters whose cadre has an address (frozen here), else paper.
-- Voters who ballot on paper forms (channel 'paper', 0050) get no code at all.
insert into ballot_invitations (voter_id, round_id, channel, address)
select v.id, v.round_id, case when c.email is null then 'paper' else 'email' end, c.email
from ballot_round_voters v join cadres c on c.id = v.cadre_id
where v.round_id = $1 and v.channel = 'online'

-- name: invitation_counts
select channel, status, count(*)::int as n from ballot_invitations where round_id = $1
group by channel, status

-- name: invitations_list
-- What the operator sees: name, channel, address, status; never a code.
select i.voter_id, c.code, c.full_name, un.name as unit_name, i.channel, i.address, i.status,
       i.attempts, i.last_error, i.updated_at
from ballot_invitations i
join ballot_round_voters v on v.id = i.voter_id
join cadres c on c.id = v.cadre_id
join units un on un.id = c.unit_id
where i.round_id = $1
order by c.name_key, c.code

-- name: email_pending
-- ballot_invitations_round_idx; $2 = chosen voters (a re-send), null = every pending one.
select i.voter_id, i.address, c.full_name
from ballot_invitations i
join ballot_round_voters v on v.id = i.voter_id
join cadres c on c.id = v.cadre_id
where i.round_id = $1 and i.channel = 'email'
  and (($2::bigint[] is null and i.status = 'pending') or i.voter_id = any($2::bigint[]))
order by i.voter_id

-- name: mark_resend
-- A re-send request puts the chosen email invitations back to pending (their old link will
-- stop working when the new one is made).
update ballot_invitations set status = 'pending', updated_at = now()
where round_id = $1 and channel = 'email' and voter_id = any($2::bigint[])
returning voter_id

-- name: set_codes
update ballot_round_voters v set token_hash = x.token_hash
from unnest($1::bigint[], $2::bytea[]) as x (id, token_hash)
where v.id = x.id

-- name: mark_results
update ballot_invitations i
set status = x.status, last_error = x.error, attempts = i.attempts + 1, updated_at = now()
from unnest($1::bigint[], $2::text[], $3::text[]) as x (voter_id, status, error)
where i.voter_id = x.voter_id

-- name: round_for_delivery
select r.id, r.title, r.status, r.closes_at, u.name as unit_name, r.opened_by
from ballot_rounds r join units u on u.id = r.unit_id where r.id = $1

-- name: slips_claim
-- ballot_slip_downloads_pkey: the second download of a round's slips is refused.
insert into ballot_slip_downloads (round_id, downloaded_by, slips) values ($1, $2, $3)
on conflict (round_id) do nothing
returning round_id

-- name: slips_download
select downloaded_by, downloaded_at, slips from ballot_slip_downloads where round_id = $1

-- name: paper_voters
select i.voter_id, c.code, c.full_name, un.name as unit_name
from ballot_invitations i
join ballot_round_voters v on v.id = i.voter_id
join cadres c on c.id = v.cadre_id
join units un on un.id = c.unit_id
where i.round_id = $1 and i.channel = 'paper'
order by un.name, c.name_key, c.code

-- name: mark_printed
update ballot_invitations set status = 'printed', attempts = attempts + 1, updated_at = now()
where round_id = $1 and channel = 'paper'

-- name: email_voters_by_code
select c.code, i.voter_id
from ballot_invitations i
join ballot_round_voters v on v.id = i.voter_id
join cadres c on c.id = v.cadre_id
where i.round_id = $1 and i.channel = 'email' and c.code = any($2::text[])
