-- Tickets: instances they are about, the tickets themselves, their
-- append-only timelines, attachments, reviews, followers, full-text search.

-- Each org numbers its tickets 1, 2, 3 …; the human id is `<ORG>-<N>`.
alter table orgs add column ticket_counter integer not null default 0;

-- An environment agents and terminals work in. `platform_context` is JSON
-- that may hold secrets: it reaches only agents allowed on the instance,
-- never a browser or a log. `summary` is the non-secret context attached to
-- tickets about this instance.
create table instances (
    id                text primary key,
    org_id            text not null references orgs (id) on delete cascade,
    name              text not null,
    summary           text not null default '',
    platform_context  text not null default '{}',
    builtin           integer not null default 0,
    created_at        integer not null,
    unique (org_id, name)
);

-- The one unit of work. `ticket_key` is the human id, fixed at creation.
-- `last_seq` is the highest timeline seq: appending bumps it in the same
-- transaction, which serialises concurrent writers on one ticket.
-- `terms` holds the normalised words the duplicate search compares.
create table tickets (
    id                text primary key,
    org_id            text not null references orgs (id) on delete cascade,
    number            integer not null,
    ticket_key        text not null,
    subject           text not null,
    description       text not null,
    category          text not null,
    severity          text not null,
    status            text not null,
    source            text not null,
    cluster_id        text references instances (id) on delete set null,
    ai_summary        text,
    ai_review_status  text not null,
    duplicate_of      text references tickets (id) on delete set null,
    created_by        text references users (id) on delete set null,
    created_at        integer not null,
    updated_at        integer not null,
    last_seq          integer not null default 0,
    comment_count     integer not null default 0,
    attachment_count  integer not null default 0,
    terms             text not null default '',
    unique (org_id, number)
);
create index tickets_by_org_status on tickets (org_id, status, number);
create index tickets_by_org_cluster on tickets (org_id, cluster_id, number);

-- The timeline: one row per event, `seq` from 1 without gaps per ticket.
-- `data` is the event as JSON (its `kind` repeated in the column for queries).
create table timeline_entries (
    ticket_id    text not null references tickets (id) on delete cascade,
    seq          integer not null,
    kind         text not null,
    author_type  text not null,
    author_id    text references users (id) on delete set null,
    data         text not null,
    created_at   integer not null,
    primary key (ticket_id, seq)
);

-- Files attached to tickets. The bytes live content-addressed under
-- <data-dir>/attachments/<sha256[0..2]>/<sha256>; several rows may share one.
create table attachments (
    id            text primary key,
    ticket_id     text not null references tickets (id) on delete cascade,
    filename      text not null,
    content_type  text not null,
    size          integer not null,
    sha256        text not null,
    uploaded_by   text references users (id) on delete set null,
    created_at    integer not null
);
create index attachments_by_ticket on attachments (ticket_id);
create index attachments_by_sha on attachments (sha256);

-- AI reviews, kept so that creation can refer to one by id.
create table reviews (
    id          text primary key,
    org_id      text not null references orgs (id) on delete cascade,
    user_id     text references users (id) on delete set null,
    request     text not null,
    result      text not null,
    created_at  integer not null
);

-- People following a ticket (e.g. instead of filing a duplicate).
create table ticket_followers (
    ticket_id   text not null references tickets (id) on delete cascade,
    user_id     text not null references users (id) on delete cascade,
    created_at  integer not null,
    primary key (ticket_id, user_id)
);

-- Full-text search, one row per ticket with rowid = tickets.rowid: subject,
-- description, all comment bodies, the normalised duplicate-search terms, and
-- the org as a token, so that ranking happens within one org's tickets.
create virtual table tickets_fts using fts5 (subject, description, comments, terms, org);
-- Document frequencies of terms, for weighting duplicate matches.
create virtual table tickets_fts_vocab using fts5vocab (tickets_fts, 'col');
