-- 0031_task_gate_sums: what the qd366 gates need, per cadre and month (DOMAIN part 3 step 5;
-- issue 15). The gates' exceeded and late shares are k-weighted: Σ k·done of the records
-- flagged exceeded, Σ k·done of the records with at least one counted delay, in the same
-- millionths as the other sums (task_units). The record counts stay for information.
alter table task_month_totals
    add column k_done_exceeded bigint not null default 0,
    add column k_done_late bigint not null default 0;

update task_month_totals m
set k_done_exceeded = s.exceeded, k_done_late = s.late
from (
    select cadre_id, month,
           coalesce(sum(task_units(k * done)) filter (where exceeded), 0) as exceeded,
           coalesce(sum(task_units(k * done)) filter (where delays_counted > 0), 0) as late
    from task_records
    group by cadre_id, month
) s
where s.cadre_id = m.cadre_id and s.month = m.month
  and (s.exceeded <> 0 or s.late <> 0);
