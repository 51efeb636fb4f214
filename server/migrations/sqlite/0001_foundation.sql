-- Foundation: orgs, people, browser sessions and API tokens.
-- Conventions (see ../README.md): append-only files, lowercase SQL, ids are
-- text (UUIDv7), timestamps are integer Unix milliseconds so that they sort and
-- compare the same way on every backend.

-- A tenant. Every other row belongs to exactly one org.
create table orgs (
    id          text primary key,
    slug        text not null unique,
    name        text not null,
    created_at  integer not null
);

-- A person. One user belongs to one org; emails are stored lowercased and are
-- unique across the install because sign-in is by email alone.
create table users (
    id             text primary key,
    org_id         text not null references orgs (id) on delete cascade,
    email          text not null unique,
    name           text not null,
    role           text not null check (role in ('viewer', 'member', 'operator', 'admin')),
    -- argon2 PHC string; null for users that only ever act through API tokens.
    password_hash  text,
    created_at     integer not null
);
create index users_by_org on users (org_id);

-- A browser session. Only the SHA-256 of the cookie's secret is kept.
create table sessions (
    token_hash  text primary key,
    user_id     text not null references users (id) on delete cascade,
    created_at  integer not null,
    expires_at  integer not null
);
create index sessions_by_user on sessions (user_id);

-- An API token for scripts and the CLI. Only the SHA-256 of the secret is kept;
-- a revoked token stays listed for the audit trail.
create table api_tokens (
    id            text primary key,
    org_id        text not null references orgs (id) on delete cascade,
    user_id       text not null references users (id) on delete cascade,
    name          text not null,
    token_hash    text not null unique,
    created_at    integer not null,
    last_used_at  integer,
    revoked_at    integer
);
create index api_tokens_by_org on api_tokens (org_id);
