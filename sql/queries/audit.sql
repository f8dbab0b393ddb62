-- name: set_actor
-- Session settings, read by the audit triggers of 0040; the pool's reset (RESET ALL) clears
-- them when the connection goes back.
select set_config('evalsvc.actor', $1, false), set_config('evalsvc.request_id', $2, false)

-- name: select
select id, at, actor_kind, actor_id, actor_label, actor_role, action, object_type, object_key,
       request_id, before, after
from audit_log

-- name: count
select count(*) from audit_log

-- name: jobs_by_state
select state, count(*) as n from recompute_jobs group by state

-- name: service_counts
-- ballot_ledger: one row per online ballot accepted (its primary key index answers the count);
-- ballot_uploads and task_batches: one row per accepted upload.
select (select count(*) from ballot_ledger) as ballots_online,
       (select coalesce(sum(ballots), 0) from ballot_uploads) as ballots_paper,
       (select count(*) from ballot_uploads) as paper_uploads,
       (select count(*) from task_batches) as task_uploads
