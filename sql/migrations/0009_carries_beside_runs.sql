-- A month run's carry is now stored on a second connection, in its own transaction, while
-- the run's transaction is still writing the run's rows (jobs/carry_writer.py): the carry's
-- ~10 MB no longer add to the run's time. The run's row is not committed yet when the carry
-- is, so the carry can no longer reference it. Nothing is lost: carry_candidates joins
-- complete runs only, so a carry of a run that failed is never used, and it is deleted with
-- the run (discard_run) or by the failing writer.
alter table result_month_carries drop constraint result_month_carries_run_id_fkey;
