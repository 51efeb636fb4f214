-- How to open shells on an instance (admin scope, container listing and exec
-- templates), as JSON. Read by the terminal; `{}` means the default shell.
alter table instances add column terminal text not null default '{}';
