-- 0030_unit_agency: the agency flag of a unit (DOMAIN part 2; issue 15).
-- An agency (cơ quan, tổ chức, đơn vị) rates its own staff: the HTXS quota is per
-- (agency, peer group), the agency being the nearest unit at or above a cadre's unit that is
-- flagged. NULL means the default: every unit of a ranking block is an agency.
alter table units add column agency boolean;
