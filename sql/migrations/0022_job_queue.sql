-- 0022_job_queue: recomputations run by worker processes through a PostgreSQL-backed
-- queue (pgqueuer, jobs/queue.py). The queue's own tables are created by pgqueuer at
-- start-up; a recompute job names its queue entry, so that it can be cancelled.
alter table recompute_jobs add column queue_job_id bigint;
