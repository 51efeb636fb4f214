//! The `opsdesk` command line: the server, migrations and admin tools in one
//! binary. `main.rs` parses [`Cli`] and calls [`run`].

pub mod projects;
pub mod tickets;

use crate::accounts::{self, UserInput};
use crate::{attachments, build_state, default_database_url, demo, serve, shutdown_signal, store, Options};
use clap::{Args, Parser, Subcommand};
use opsdesk_app::model::Role;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// opsdesk: a self-hosted helpdesk where every ticket is a live workspace.
#[derive(Debug, Parser)]
#[command(name = "opsdesk", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(StorageArgs),
    /// Manage orgs, people and API tokens directly in the database.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Raise, read and work tickets through the REST API (with an API token).
    Tickets(tickets::TicketsArgs),
    /// Create, approve and follow projects (a goal and a staged plan of tasks) through the REST API.
    Projects(projects::ProjectsArgs),
}

/// Where data lives; shared by every subcommand that opens the store.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory for the SQLite database, attachments, canvas directories and recordings.
    #[arg(long, env = "OPSDESK_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL; defaults to `sqlite:<data-dir>/opsdesk.db`.
    #[arg(long, env = "OPSDESK_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StorageArgs {
    fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| default_database_url(&self.data_dir))
    }

    /// Opens and migrates the store, creating the data directory if needed.
    async fn open(&self) -> anyhow::Result<store::SharedStore> {
        std::fs::create_dir_all(&self.data_dir)?;
        // A CLI process has no watchers of its own; the server picks changes up on the next read.
        store::connect(&self.database_url(), crate::live::Hub::new()).await
    }
}

/// Options of `opsdesk serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback by default: the local instance's shell
    /// runs as this server's user, so exposing it is a deliberate choice.
    #[arg(long, env = "OPSDESK_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Where cargo-leptos put the site (the `/pkg` bundle and static files).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Mark cookies `Secure`; set when browsers reach opsdesk over HTTPS.
    #[arg(long, env = "OPSDESK_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// The origin browsers use when a proxy rewrites Host, e.g. `https://desk.example.com`.
    #[arg(long, env = "OPSDESK_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,
    /// Largest ticket attachment, in bytes.
    #[arg(long, env = "OPSDESK_ATTACHMENT_MAX_BYTES", default_value_t = attachments::DEFAULT_MAX_BYTES)]
    pub attachment_max_bytes: u64,
    /// How many attachments one ticket may hold.
    #[arg(long, env = "OPSDESK_ATTACHMENTS_PER_TICKET", default_value_t = attachments::DEFAULT_MAX_PER_TICKET)]
    pub attachments_per_ticket: u32,
    /// An OpenAI-compatible endpoint for the LLM agents and the review, e.g.
    /// `http://127.0.0.1:11434/v1` (orgs may set their own in Admin → Model).
    #[arg(long, env = "OPSDESK_LLM_BASE_URL", requires = "llm_model")]
    pub llm_base_url: Option<String>,
    /// The model to ask at that endpoint.
    #[arg(long, env = "OPSDESK_LLM_MODEL", requires = "llm_base_url")]
    pub llm_model: Option<String>,
    /// The endpoint's API key, if it needs one.
    #[arg(long, env = "OPSDESK_LLM_API_KEY", hide_env_values = true)]
    pub llm_api_key: Option<String>,
    /// How long one call to the model may take, in seconds.
    #[arg(long, env = "OPSDESK_LLM_TIMEOUT_SECS", default_value_t = 120)]
    pub llm_timeout_secs: u64,
}

/// `opsdesk admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an API token (creating the org and user if missing); prints only the token.
    CreateToken {
        #[command(flatten)]
        person: PersonArgs,
        /// A name to recognise the token by.
        #[arg(long, default_value = "created with opsdesk admin")]
        name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Create a person who signs in through the browser, or reset their role and password.
    CreateUser {
        #[command(flatten)]
        person: PersonArgs,
        /// At least 10 characters.
        #[arg(long, env = "OPSDESK_PASSWORD")]
        password: String,
        /// Display name; the part of the email before `@` when omitted.
        #[arg(long, default_value = "")]
        display_name: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

/// Which person, in which org, with which role.
#[derive(Debug, Clone, Args)]
pub struct PersonArgs {
    /// The org's slug (lowercase letters, digits, dashes); created if missing.
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub email: String,
    /// viewer, member, operator or admin.
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
}

fn parse_role(value: &str) -> Result<Role, String> {
    value.parse()
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = match cli.command {
        Some(command) => command,
        None => Cli::parse_from(["opsdesk", "serve"]).command.expect("serve parses"),
    };
    match command {
        Command::Serve(args) => run_server(args).await?,
        Command::Tickets(args) => return tickets::run(args.client, args.command).await,
        Command::Projects(args) => return projects::run(args.client, args.command).await,
        Command::Migrate(storage) => {
            storage.open().await?;
            eprintln!("migrations applied to {}", storage.database_url());
        }
        Command::Admin(AdminCommand::CreateToken { person, name, storage }) => {
            let store = storage.open().await?;
            let input = UserInput { email: &person.email, name: "", role: person.role, password: None };
            let me = accounts::ensure_user(store.as_ref(), &person.org, input).await?;
            let token = accounts::create_token(store.as_ref(), &me, &name).await?;
            println!("{}", token.secret);
        }
        Command::Admin(AdminCommand::CreateUser { person, password, display_name, storage }) => {
            let store = storage.open().await?;
            let input =
                UserInput { email: &person.email, name: &display_name, role: person.role, password: Some(&password) };
            let me = accounts::ensure_user(store.as_ref(), &person.org, input).await?;
            eprintln!("{} is {} in org {}", me.user.email, me.role, me.org.slug);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn run_server(args: ServeArgs) -> anyhow::Result<()> {
    let options = Options {
        addr: args.addr,
        data_dir: args.storage.data_dir,
        database_url: args.storage.database_url,
        site_root: args.site_root,
        secure_cookies: args.secure_cookies,
        public_origin: args.public_origin,
        attachments: attachments::Limits {
            max_bytes: args.attachment_max_bytes,
            max_per_ticket: args.attachments_per_ticket,
        },
        llm: match (args.llm_base_url, args.llm_model) {
            (Some(base_url), Some(model)) => Some(crate::llm::settings::ServerLlm {
                base_url: base_url.trim().trim_end_matches('/').to_owned(),
                model: model.trim().to_owned(),
                api_key: args.llm_api_key.filter(|k| !k.trim().is_empty()),
            }),
            _ => None,
        },
        llm_timeout: std::time::Duration::from_secs(args.llm_timeout_secs.max(1)),
    };
    let state = build_state(&options).await?;
    if let Some(credentials) = demo::seed_if_empty(state.store.as_ref()).await? {
        println!(
            "\n  opsdesk is ready with a demo org ({org}).\n  Sign in at http://{addr}/login as\n    email:    {email}\n    password: {password}\n  (shown only this once; reset it with `opsdesk admin create-user --org {org} --email {email} --role admin --password ...`)\n",
            org = demo::DEMO_ORG,
            addr = options.addr,
            email = credentials.email,
            password = credentials.password,
        );
    }
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.addr))?;
    tracing::info!(addr = %listener.local_addr()?, data_dir = %options.data_dir.display(), "opsdesk listening");
    serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
