-- 0012_accounts: people's accounts (username + argon2id password) and their login sessions.
-- Accounts carry the same roles and unit-subtree scopes as API keys (0001 api_keys); API keys
-- stay for machines. Only an argon2id hash of a password is stored, only a SHA-256 of a
-- session token (the token itself lives in the browser's HttpOnly cookie).

create table users (
    id                      bigint generated always as identity primary key,
    -- Stored lowercase; the application folds what is typed before looking it up.
    username                text not null constraint users_username_key unique
        check (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    full_name               text not null default '',
    role                    text not null
        check (role in ('admin', 'personnel', 'hr_system', 'auditor')),
    unit_id                 bigint constraint users_unit_fkey references units (id),
    password_hash           text not null,
    -- Set for new accounts and after a reset: the next login must choose a new password.
    must_change_password    boolean not null default true,
    created_at              timestamptz not null default now(),
    updated_at              timestamptz not null default now(),
    disabled_at             timestamptz,
    last_login_at           timestamptz,
    -- Who made the account (e.g. 'user:3', 'key:7', 'cli'): every write records its author.
    created_by              text not null,
    constraint users_scope check ((role in ('personnel', 'hr_system')) = (unit_id is not null))
);

create table user_sessions (
    token_hash      bytea primary key,      -- SHA-256 of the cookie's 256-bit token
    user_id         bigint not null references users (id) on delete cascade,
    created_at      timestamptz not null default now(),
    last_seen_at    timestamptz not null default now(),
    expires_at      timestamptz not null
);
create index user_sessions_user_idx on user_sessions (user_id);
