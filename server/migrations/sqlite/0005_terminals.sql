-- Terminal sessions on tickets. The output itself is an asciicast file in
-- <data>/recordings/<id>.cast; command blocks are `command_ran` entries on
-- the ticket's timeline.
create table terminal_sessions (
    id text primary key,
    ticket_id text not null references tickets (id) on delete cascade,
    instance_id text not null,
    scope text not null,                       -- JSON TerminalScope
    started_by text references users (id) on delete set null,
    started_at integer not null,
    ended_at integer,
    exit_code integer,
    end_reason text,
    share_context integer not null default 0,
    cols integer not null,
    rows integer not null,
    integrated integer not null default 0,
    recording_bytes integer not null default 0
);
create index terminal_sessions_ticket on terminal_sessions (ticket_id, started_at);
