-- 0090_sheet_colleagues_index: a voter's colleagues by (round, group) without a scan.
-- The sheet's reads (sheets.sql voter_sheet, colleagues) join the round's targets on the
-- voter's group; the primary key (round_id, cadre_id) gave them only the round, so every
-- sheet read every target of the round (a city-wide round: 200,000 rows per sheet).
create index ballot_round_targets_group_idx on ballot_round_targets (round_id, group_id);
