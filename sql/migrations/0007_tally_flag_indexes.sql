-- The recomputation reads only the tallies with a confirmed item or a low-confidence flag
-- (a few per cent of them, jobs/inputs.py): without these partial indexes it scanned every
-- (wide) tally of the year's rounds, 0.2 s per query at city scale with four rounds. Each
-- is a few per cent of the tallies, so closing a round pays little for them.
create index ballot_tallies_confirmed_idx on ballot_tallies (round_id) where confirmed <> 0;
create index ballot_tallies_low_confidence_idx on ballot_tallies (round_id) where low_confidence;
