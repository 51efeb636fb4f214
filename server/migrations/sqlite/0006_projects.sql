-- Projects: a goal and a plan of ordered stages whose approval opens tickets.

-- A project. Its title, goal and plan live in its revisions; `revision` is
-- the latest, `approved_revision` the one stages open from (null: a draft).
create table projects (
    id                 text primary key,
    org_id             text not null references orgs (id) on delete cascade,
    revision           integer not null,
    approved_revision  integer,
    approved_by        text references users (id) on delete set null,
    approved_at        integer,
    created_by         text references users (id) on delete set null,
    created_at         integer not null,
    updated_at         integer not null
);
create index projects_by_org on projects (org_id, created_at);

-- Every edit of the plan, kept: `stages` is the plan as JSON
-- ([{name, tasks: [{title, description, acceptance_criteria, agent_id?, instance_id?}]}]).
create table project_revisions (
    project_id  text not null references projects (id) on delete cascade,
    revision    integer not null,
    title       text not null,
    goal        text not null,
    stages      text not null,
    author_id   text references users (id) on delete set null,
    created_at  integer not null,
    primary key (project_id, revision)
);

-- A stage that has opened its tickets. The primary key is what makes
-- opening a stage happen once, however many requests race for it.
create table project_stages (
    project_id  text not null references projects (id) on delete cascade,
    stage       integer not null,
    revision    integer not null,
    opened_by   text references users (id) on delete set null,
    opened_at   integer not null,
    early       integer not null default 0,
    primary key (project_id, stage)
);

-- Tickets opened by a stage: which project, stage and task (from 0).
alter table tickets add column project_id text references projects (id) on delete set null;
alter table tickets add column project_stage integer;
alter table tickets add column project_task integer;
create index tickets_by_project on tickets (project_id, project_stage);
