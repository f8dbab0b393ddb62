-- 0080_member_name_order: the members of a run's organisation in Vietnamese name order,
-- so that a page of a large unit's members (the city's 200,000 at scale 1) is read from
-- the index instead of sorting every member (sql/queries/result_pages.sql).
create index if not exists result_org_cadres_name_idx
    on result_org_cadres (org_id, name_key, code);
