-- 0021_drop_input_caches: the input caches go (issue 17, docs/recompute.md "What was removed").
--
-- A recomputation now reads its inputs in one snapshot every time; a year reuses a month
-- run only when the month's input digest, profile and scoring version are all equal
-- (result_runs.fingerprint). The change markers and notes kept by statement triggers on 15
-- tables (0005, 0008, 0011), the input packs (0008, 0011) and the month carries (0006, 0009)
-- were caches keyed on inputs and profile but not on the scoring code; they are dropped with
-- everything that fed them. Dropping the trigger functions drops their triggers.
drop function if exists input_versions_note_months() cascade;
drop function if exists input_versions_note_all() cascade;
drop function if exists input_changes_note() cascade;
drop function if exists input_changes_note_months() cascade;
drop table if exists input_versions_pending cascade;
drop function if exists input_versions_flush() cascade;
drop function if exists input_versions_note(int4[]) cascade;
drop function if exists input_versions_bump(int4[]) cascade;
drop table if exists input_versions, input_changes, input_packs, result_month_carries cascade;
drop sequence if exists input_version_seq;
