-- 0057_paper_ballots_per_target: the tally shows each target's ballots per channel (issue 18,
-- item 4: "the tally shows counts per channel (online, paper)").
--
-- Paper ballots are counted per target when a second member confirms their upload; online
-- ones are the rest of the target's valid ballots (every stored ballot is valid). A round
-- closed before this migration has no per-target record: NULL.
alter table ballot_round_targets add column paper_ballots int;
update ballot_round_targets t
set paper_ballots = coalesce((
    select sum(b.n_ballots) from ballots b
    where b.round_id = t.round_id and b.target_id = t.cadre_id), 0)
from ballot_rounds r
where r.id = t.round_id and r.status in ('draft', 'open');
alter table ballot_round_targets alter column paper_ballots set default 0;
