-- The org's agents: built-in ones (answered in-process) and custom ones
-- (HTTP endpoints speaking the agent protocol). Conversation state lives on
-- the ticket timeline; assignments are `agents_assigned` entries there.
create table agents (
    id text primary key,
    org_id text not null references orgs (id) on delete cascade,
    slug text not null,
    name text not null,
    kind text not null,                              -- builtin | custom
    backend text,                                    -- built-ins: runbook (later llm)
    description text not null default '',
    prompt_suggestions text not null default '[]',   -- JSON array of strings
    endpoint_url text,                               -- custom: base URL
    headers text not null default '{}',              -- JSON object; may hold credentials, never returned
    timeout_secs integer not null,
    instance_ids text not null default '[]',         -- JSON array; empty = every instance
    created_at integer not null,
    unique (org_id, slug)
);
