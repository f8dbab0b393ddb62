-- 0002_ballots: anonymous peer ballot rounds (DOMAIN part 4).
-- The bulk tables (ballots, ballot_comments, ballot_tallies, ballot_flags) have no foreign key
-- to ballot_rounds: a per-row RI trigger costs more than the COPY itself. They are written only
-- by the store while it holds the round row lock, and only draft rounds (which have none of
-- these rows) can be deleted.
-- Anonymity by construction: `ballots` and `ballot_comments` hold no voter id, no token, no
-- token hash, no timestamp and no row id; one ballot per voter and target is enforced by
-- `ballot_ledger`, which holds only HMAC(secret, token id | target | round). See docs/ballots.md.

create table ballot_rounds (
    id                  bigint generated always as identity primary key,
    title               text not null,
    unit_id             bigint not null constraint ballot_rounds_unit_fkey references units (id),
    include_subunits    boolean not null default false,
    -- 'unit': voters ballot the targets of their own unit; 'round': everyone ballots everyone.
    voting_scope        text not null default 'unit' check (voting_scope in ('unit', 'round')),
    period_kind         text not null check (period_kind in ('month', 'quarter', 'year')),
    period_start        date not null,  -- first day of the first covered month
    period_end          date not null,  -- last day of the last covered month
    catalog_id          bigint not null constraint ballot_rounds_catalog_fkey references catalogs (id),
    -- Positions that get the leader form; everyone else gets the staff form.
    leader_positions    text[] not null default '{head,deputy}',
    k_min               int not null default 5 check (k_min between 3 and 1000),
    opens_at            timestamptz not null,
    closes_at           timestamptz not null,
    status              text not null default 'draft' check (status in ('draft', 'open', 'closed')),
    created_at          timestamptz not null default now(),
    opened_at           timestamptz,
    closed_at           timestamptz,
    constraint ballot_rounds_window check (closes_at > opens_at),
    constraint ballot_rounds_period check (period_end >= period_start)
);
create index ballot_rounds_unit_idx on ballot_rounds (unit_id);
-- Scoring reads closed rounds by covered months.
create index ballot_rounds_period_idx on ballot_rounds (period_start, period_end)
    where status = 'closed';

-- Targets, frozen when the round is created/edited: the form follows the position then.
create table ballot_round_targets (
    round_id    bigint not null references ballot_rounds (id) on delete cascade,
    cadre_id    bigint not null references cadres (id),
    form        text not null check (form in ('leader', 'staff')),
    group_id    bigint not null,  -- voters of the same group ballot this target
    eligible    int not null default 0,  -- voters of the group, the target excluded
    primary key (round_id, cadre_id)
);

-- Eligible voters; token_hash = HMAC(token key, token), set when the round opens.
-- The row id is the "voter token id" that the ledger hashes.
create table ballot_round_voters (
    id          bigint generated always as identity primary key,
    round_id    bigint not null references ballot_rounds (id) on delete cascade,
    cadre_id    bigint not null references cadres (id),
    group_id    bigint not null,
    token_hash  bytea constraint ballot_round_voters_token_key unique,
    constraint ballot_round_voters_round_cadre_key unique (round_id, cadre_id)
);

-- One row per (voter, target, round) that has voted online: only a keyed hash of the three.
-- The primary key is what makes "exactly one" hold under concurrent submissions.
create table ballot_ledger (
    tag         bytea primary key,
    round_id    bigint not null references ballot_rounds (id) on delete cascade
);
create index ballot_ledger_round_idx on ballot_ledger (round_id);

-- Ballots in blocks: one row holds n_ballots ballots of one target, each an 18-byte record
-- (little-endian): observed bitmap u64, "no basis" bitmap u64, level u8 (0 blank, 1 KHT, 2 HT,
-- 3 HTT, 4 HTXS), confidence u8 (0 blank, 1 low, 2 normal, 3 high). Bit m = item m of the
-- target's form (catalog_items ordered by ordinal, code). A paper upload writes one block per
-- target in random order; an online ballot is a block of one until the round closes, when the
-- round is rewritten as one shuffled block per target (no submission order survives).
create table ballots (
    round_id    bigint not null,
    target_id   bigint not null,
    n_ballots   int not null check (n_ballots > 0),
    marks       bytea not null,
    constraint ballots_marks_length check (length(marks) = 18 * n_ballots)
);
create index ballots_round_idx on ballots (round_id);

-- Comments are kept apart from the marks, so a comment cannot be joined to its ballot.
create table ballot_comments (
    round_id    bigint not null,
    target_id   bigint not null,
    comment     text not null check (comment <> '')
);
create index ballot_comments_round_target_idx on ballot_comments (round_id, target_id);

-- Paper uploads: the idempotency key makes a retry safe; no row links to stored ballots.
create table ballot_uploads (
    round_id        bigint not null references ballot_rounds (id) on delete cascade,
    idempotency_key text not null,
    body_sha256     bytea not null,
    ballots         int not null,
    created_at      timestamptz not null default now(),
    primary key (round_id, idempotency_key)
);

-- Per target tally, written once when the round closes (one binary COPY, in target order).
-- Narrow fixed-width columns only: no arrays (array_recv per element made the write 4x slower).
create table ballot_tallies (
    round_id            bigint not null,
    target_id           bigint not null,
    form                text not null check (form in ('leader', 'staff')),
    eligible            int not null,
    valid               int not null,
    quorum              boolean not null,  -- valid >= ceil(2/3 eligible) and valid >= k_min
    -- Per item m of the form: counts as little-endian uint16 at bytes 2m, 2m+1 (compact and
    -- ~10x cheaper to write than int[]; a target has at most 65,535 eligible voters).
    observed            bytea not null,
    no_basis            bytea not null,
    -- Overall level and confidence answers; blank = the ballot left it out. Each group sums
    -- to valid.
    level_kht           int not null,
    level_ht            int not null,
    level_htt           int not null,
    level_htxs          int not null,
    level_blank         int not null,
    confidence_low      int not null,
    confidence_normal   int not null,
    confidence_high     int not null,
    confidence_blank    int not null,
    low_confidence      boolean not null,  -- quorum and low > 1/2 of valid
    escalated           boolean not null,  -- quorum and low >= 2/3 of valid
    -- Items (bit m = item m of the form) confirmed (p > 1/2) and to watch (1/3 < p <= 1/2),
    -- set only when quorum: what scoring deducts and what remediation items open from.
    confirmed           bigint not null,
    watch               bigint not null,
    primary key (round_id, target_id),
    constraint ballot_tallies_levels_sum
        check (level_kht + level_ht + level_htt + level_htxs + level_blank = valid),
    constraint ballot_tallies_confidence_sum
        check (confidence_low + confidence_normal + confidence_high + confidence_blank = valid)
);
-- No index on target_id alone: every reader comes through a round (the primary key serves
-- "this cadre in these rounds"), and a second index adds ~15% to the close.

-- The items of each form with their bit in marks and tallies (catalog order: ordinal, code).
create view ballot_form_items as
select ci.catalog_id, f.form, ci.code, ci.group_no, ci.text,
       (row_number() over (partition by ci.catalog_id, f.form order by ci.ordinal, ci.code) - 1)::int
           as bit
from catalog_items ci
cross join (values ('leader'), ('staff')) as f (form)
where (f.form = 'leader' and ci.for_leader) or (f.form = 'staff' and ci.for_staff);

-- Confirmed and watch items, one row each, expanded from the tally bitmaps: what scoring
-- deducts (confirmed) and what remediation items will be opened from (both).
create view ballot_flags as
select t.round_id, t.target_id, i.code as item_code, i.group_no,
       case when (t.confirmed >> i.bit) & 1 = 1 then 'confirmed' else 'watch' end as flag,
       get_byte(t.observed, 2 * i.bit) + 256 * get_byte(t.observed, 2 * i.bit + 1) as observed,
       t.valid - get_byte(t.no_basis, 2 * i.bit) - 256 * get_byte(t.no_basis, 2 * i.bit + 1)
           as rated
from ballot_tallies t
join ballot_rounds r on r.id = t.round_id
join ballot_form_items i on i.catalog_id = r.catalog_id and i.form = t.form
where ((t.confirmed | t.watch) >> i.bit) & 1 = 1;
