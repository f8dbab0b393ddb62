-- 0050_sealed_ballots: sealed sheets, the counting committee and its shares, receipts,
-- voting channels and two-person paper uploads (issue 18; docs/ballots.md "Sealed ballots").
-- While a round is open the service stores only ciphertext: the round's private key exists
-- only as Shamir shares held by the committee's members.

-- The round's public key (set at open), its committee's threshold, and what the close found.
alter table ballot_rounds
    add column threshold        int not null default 2 check (threshold >= 2),
    add column public_key       bytea check (length(public_key) = 32),
    add column receipts_root    bytea,       -- Merkle root over the counted sheets' receipts
    add column sheets_counted   int,         -- sealed sheets opened and valid at close
    add column sheets_invalid   int,         -- sealed sheets that failed validation at close
    add column ballots_online   int,         -- valid ballots by channel, set at close
    add column ballots_paper    int,
    add column closed_by        text[];      -- actors whose shares closed the round

-- The counting committee (tổ kiểm phiếu): people's accounts. A share is dealt to each member
-- at open; `wrapped_share` holds it (sealed with a key derived from the service's secret)
-- only until that member collects it once; `share_hash` stays to check it at close.
create table ballot_committee (
    round_id        bigint not null references ballot_rounds (id) on delete cascade,
    user_id         bigint not null references users (id),
    share_index     int,
    share_hash      bytea,
    wrapped_share   bytea,
    collected_at    timestamptz,
    primary key (round_id, user_id),
    constraint ballot_committee_index_key unique (round_id, share_index)
);

-- Voting channel per voter, chosen at creation: online voters get a token, paper voters a
-- paper form. Capacity per target is checked per channel.
alter table ballot_round_voters
    add column channel text not null default 'online' check (channel in ('online', 'paper'));
alter table ballot_round_targets
    add column eligible_paper int not null default 0;  -- paper voters among `eligible`

-- Sealed sheets of open rounds: ciphertext only. `targets_tag` = HMAC(ledger key, sorted
-- target ids) lets the close check the sheet covers what the ledger recorded, without
-- showing which colleagues a sheet is for. No voter, token, time or row id.
create table ballot_sheets (
    round_id    bigint not null,
    sealed      bytea not null,
    targets_tag bytea not null,
    receipt     bytea not null   -- SHA-256 of sealed
);
create index ballot_sheets_round_idx on ballot_sheets (round_id);

-- Receipts of closed rounds (the ciphertexts are deleted at close), in sorted order.
create table ballot_receipts (
    round_id    bigint not null,
    receipt     bytea not null,
    primary key (round_id, receipt)
);

-- Paper uploads under the two-person rule: one member uploads (validated at once, kept
-- pending), a second member confirms, and only then are the ballots stored and counted.
alter table ballot_uploads
    add column id           bigint generated always as identity,
    add column uploaded_by  text not null default 'unknown',
    add column confirmed_by text,
    add column confirmed_at timestamptz,
    add column content_type text not null default 'text/csv',
    add column body         bytea,  -- the pending upload; cleared when confirmed
    add constraint ballot_uploads_id_key unique (id),
    add constraint ballot_uploads_two_people check (confirmed_by is null or confirmed_by <> uploaded_by);
-- Uploads stored before the rule were counted on arrival.
update ballot_uploads set confirmed_by = 'before-two-person-rule', confirmed_at = created_at;
