-- People's accounts and login sessions (store/users.py).

-- name: insert
insert into users (username, full_name, role, unit_id, password_hash, must_change_password,
                   created_by)
values ($1, $2, $3, $4, $5, true, $6)
returning id

-- name: by_username
-- users_username_key.
select u.id, u.username, u.full_name, u.role, u.unit_id, un.code as unit_code, u.password_hash,
       u.must_change_password, u.disabled_at
from users u left join units un on un.id = u.unit_id
where u.username = $1

-- name: by_id
select u.id, u.username, u.full_name, u.role, u.unit_id, un.code as unit_code, u.password_hash,
       u.must_change_password, u.disabled_at
from users u left join units un on un.id = u.unit_id
where u.id = $1

-- name: list
select u.id, u.username, u.full_name, u.role, un.code as unit_code, u.must_change_password,
       u.created_at, u.disabled_at, u.last_login_at, u.created_by
from users u left join units un on un.id = u.unit_id
order by u.username

-- name: set_password
-- Also ends every session of the account (a reset or a change logs out everywhere else).
with s as (delete from user_sessions where user_id = $1 and token_hash <> coalesce($4, ''::bytea))
update users set password_hash = $2, must_change_password = $3, updated_at = now()
where id = $1
returning id

-- name: rehash
update users set password_hash = $2 where id = $1

-- name: disable
with s as (delete from user_sessions where user_id = $1)
update users set disabled_at = now(), updated_at = now()
where id = $1 and disabled_at is null
returning id

-- name: enable
update users set disabled_at = null, updated_at = now()
where id = $1 and disabled_at is not null
returning id

-- name: touch_login
update users set last_login_at = now() where id = $1

-- name: session_insert
insert into user_sessions (token_hash, user_id, expires_at)
values ($1, $2, now() + make_interval(secs => $3))

-- name: session_get
-- user_sessions_pkey; a disabled account's sessions are deleted, but the check stays here too.
-- Idle sessions end: last_seen_at older than $2 seconds counts as expired.
select s.user_id, u.username, u.full_name, u.role, u.unit_id, un.code as unit_code,
       u.must_change_password
from user_sessions s
join users u on u.id = s.user_id
left join units un on un.id = u.unit_id
where s.token_hash = $1 and s.expires_at > now()
  and s.last_seen_at > now() - make_interval(secs => $2)
  and u.disabled_at is null

-- name: session_touch
-- At most once a minute per session, so page views do not each write a row.
update user_sessions set last_seen_at = now()
where token_hash = $1 and last_seen_at < now() - interval '1 minute'

-- name: session_delete
delete from user_sessions where token_hash = $1

-- name: sessions_purge
delete from user_sessions where expires_at <= now()

-- name: keep_password
-- The demo's admin login: its printed password works without a forced change.
update users set must_change_password = false where id = $1
