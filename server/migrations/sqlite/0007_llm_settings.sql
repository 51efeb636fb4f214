-- An org's own model endpoint (OpenAI-compatible), overriding the server's
-- OPSDESK_LLM_* settings. The API key is write-only: the API and the pages
-- only ever say whether one is set.
create table org_llm_settings (
    org_id      text primary key references orgs (id) on delete cascade,
    base_url    text not null,
    model       text not null,
    api_key     text,
    updated_by  text references users (id) on delete set null,
    updated_at  integer not null
);
