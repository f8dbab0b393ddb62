-- 0013_ballot_delivery: voters' credentials go to the voters, never to the round's operator.
-- Opening a round no longer returns tokens: the service makes each voter's token when it
-- delivers it (by email, or on a sealed paper slip printed by an administrator), so only the
-- delivery channel ever holds it. See docs/ballots.md "Delivering the voters' links".

-- Where invitations go; null: the voter gets a sealed paper slip.
alter table cadres add column email text
    constraint cadres_email_shape check (email is null or email ~ '^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$');

-- Who opened the round ('user:3', 'key:7', 'system'): that principal may not also print the
-- round's paper slips (it would then hold voters' tokens).
alter table ballot_rounds add column opened_by text;

-- One delivery per voter of a round: the address is frozen when the round opens (editing the
-- registry afterwards does not redirect a re-send). No row here is ever linked to a ballot.
create table ballot_invitations (
    voter_id        bigint primary key references ballot_round_voters (id) on delete cascade,
    round_id        bigint not null references ballot_rounds (id) on delete cascade,
    channel         text not null check (channel in ('email', 'paper')),
    address         text,
    status          text not null default 'pending'
        check (status in ('pending', 'sent', 'failed', 'printed')),
    attempts        int not null default 0,
    last_error      text,
    updated_at      timestamptz not null default now(),
    constraint ballot_invitations_address check ((channel = 'email') = (address is not null))
);
create index ballot_invitations_round_idx on ballot_invitations (round_id, status);

-- The one download of a round's paper slips: who, when, how many (refused a second time).
create table ballot_slip_downloads (
    round_id        bigint primary key references ballot_rounds (id) on delete cascade,
    downloaded_by   text not null,
    downloaded_at   timestamptz not null default now(),
    slips           int not null
);

-- A voter's whole sheet: one more ledger row per voter, tag = HMAC(ledger key, "sheet|voter
-- token id|round"). Its primary key makes a second sheet fail, and counting these rows gives
-- "N of M voters have finished" without saying who.
alter table ballot_ledger add column sheet boolean not null default false;
create index ballot_ledger_sheets_idx on ballot_ledger (round_id) where sheet;
