-- name: existing
-- cadres_code_key.
select id, code, unit_id from cadres where code = any($1::text[])

-- name: upsert
-- cadres_code_key arbitrates; an unchanged row is not rewritten.
insert into cadres as c
    (code, full_name, name_key, search_text, personnel_type, position, unit_id, peer_group_id,
     party_member)
select * from unnest($1::text[], $2::text[], $3::text[], $9::text[], $4::text[], $5::text[],
                     $6::bigint[], $7::bigint[], $8::bool[])
on conflict (code) do update
set full_name = excluded.full_name, name_key = excluded.name_key,
    search_text = excluded.search_text,
    personnel_type = excluded.personnel_type, position = excluded.position,
    unit_id = excluded.unit_id, peer_group_id = excluded.peer_group_id,
    party_member = excluded.party_member, updated_at = now()
where (c.full_name, c.personnel_type, c.position, c.unit_id, c.peer_group_id, c.party_member)
      is distinct from (excluded.full_name, excluded.personnel_type, excluded.position,
                        excluded.unit_id, excluded.peer_group_id, excluded.party_member)
returning c.id, c.code, (xmax = 0) as inserted

-- name: set_emails
-- Only rows that gave an email (or an empty one); the others keep theirs. cadres_code_key.
update cadres c set email = x.email, updated_at = now()
from unnest($1::text[], $2::text[]) as x (code, email)
where c.code = x.code and c.email is distinct from x.email
returning c.code

-- name: record_moves
insert into cadre_unit_moves (cadre_id, from_unit_id, to_unit_id, effective_date)
select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::date[])

-- name: spells_of
-- employment_spells_cadre_idx.
select cadre_id, start_date, end_date from employment_spells
where cadre_id = any($1::bigint[]) order by cadre_id, start_date

-- name: absences_of
-- absences_cadre_idx.
select cadre_id, kind, start_date, end_date from absences
where cadre_id = any($1::bigint[]) order by cadre_id, start_date

-- name: replace_spells
with gone as (delete from employment_spells where cadre_id = any($1::bigint[]))
insert into employment_spells (cadre_id, start_date, end_date)
select * from unnest($2::bigint[], $3::date[], $4::date[])

-- name: replace_absences
with gone as (delete from absences where cadre_id = any($1::bigint[]))
insert into absences (cadre_id, kind, start_date, end_date)
select * from unnest($2::bigint[], $3::text[], $4::date[], $5::date[])

-- name: select
select c.id, c.code, c.full_name, c.personnel_type, c.position, u.code as unit_code,
       g.code as peer_group, c.party_member, c.email,
       coalesce((select jsonb_agg(jsonb_build_object('start', s.start_date, 'end', s.end_date)
                                  order by s.start_date)
                 from employment_spells s where s.cadre_id = c.id), '[]') as employment,
       coalesce((select jsonb_agg(jsonb_build_object('kind', a.kind, 'start', a.start_date,
                                                     'end', a.end_date) order by a.start_date)
                 from absences a where a.cadre_id = c.id), '[]') as absences,
       c.created_at, c.updated_at
from cadres c join units u on u.id = c.unit_id left join peer_groups g on g.id = c.peer_group_id

-- name: count
select count(*) from cadres c join units u on u.id = c.unit_id
left join peer_groups g on g.id = c.peer_group_id

-- name: move
update cadres set unit_id = $2, position = coalesce($3, position), updated_at = now()
where id = $1

-- name: peer_group_ids
select code, id from peer_groups where code = any($1::text[])

-- name: upsert_peer_groups
insert into peer_groups as g (code, name)
select * from unnest($1::text[], $2::text[])
on conflict (code) do update set name = excluded.name where g.name is distinct from excluded.name
returning g.code, (xmax = 0) as inserted

-- name: list_peer_groups
select g.id, g.code, g.name from peer_groups g order by g.code
