-- name: next_version
-- catalogs_name_version_key; the advisory lock keeps two loads of one name apart.
select coalesce(max(version), 0) + 1 from catalogs where name = $1

-- name: insert
insert into catalogs (name, version, title, is_sample, group1_points, group2_points, group3_points)
values ($1, $2, $3, $4, $5, $6, $7)
returning id

-- name: insert_items
insert into catalog_items (catalog_id, code, text, group_no, for_leader, for_staff, ordinal)
select $1, * from unnest($2::text[], $3::text[], $4::smallint[], $5::bool[], $6::bool[], $7::int[])

-- name: publish
update catalogs set status = 'published', published_at = now()
where id = $1 and status = 'draft'
returning id

-- name: select
select c.id, c.name, c.version, c.title, c.is_sample, c.status,
       jsonb_build_object('group1', c.group1_points, 'group2', c.group2_points,
                          'group3', c.group3_points) as points,
       c.created_at, c.published_at,
       (select count(*) from catalog_items i where i.catalog_id = c.id and i.for_leader)
           as leader_items,
       (select count(*) from catalog_items i where i.catalog_id = c.id and i.for_staff)
           as staff_items
from catalogs c

-- name: items
select code, text, group_no as "group",
       array_remove(array[case when for_leader then 'leader' end,
                          case when for_staff then 'staff' end], null) as forms,
       ordinal
from catalog_items where catalog_id = $1 order by ordinal

-- name: delete_draft
delete from catalogs where id = $1 and status = 'draft' returning id

-- name: latest
-- catalogs_name_version_key: the newest version of a name.
select id from catalogs where name = $1 order by version desc limit 1
