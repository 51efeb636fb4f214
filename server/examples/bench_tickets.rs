//! Tickets at scale: seeds an org with many tickets (100,000 by default) in a
//! fresh SQLite file, then measures through the running server over HTTP:
//! the ticket list with filters, full-text search, the AI review with its
//! duplicate search, and the ticket creation rate.
//!
//!     cargo run --release -p opsdesk-server --example bench_tickets [-- <tickets> [<keep-data-dir>]]
//!
//! Prints a Markdown table for docs/benchmarks.md. It asserts no timing.

use opsdesk_app::model::{Category, ReviewStatus, Role, Severity, Source, Status};
use opsdesk_server::accounts::{self, UserInput};
use opsdesk_server::review;
use opsdesk_server::store::{NewEntry, NewTicket};
use opsdesk_server::{build_state, serve, Options};
use serde_json::json;
use std::time::{Duration, Instant};

const SERVICES: &[&str] = &[
    "checkout",
    "payments",
    "search",
    "auth",
    "billing",
    "inventory",
    "notifications",
    "gateway",
    "orders",
    "reporting",
    "catalog",
    "shipping",
    "profile",
    "ledger",
    "scheduler",
];
const NAMESPACES: &[&str] = &["prod", "staging", "dev", "batch", "edge", "data"];
const PROBLEMS: &[(&str, &str)] = &[
    (
        "pods keep restarting with OOMKilled",
        "kubectl shows OOMKilled and the restart count climbing; memory limit is 512Mi",
    ),
    ("returns 502 Bad Gateway", "the ingress answers 502 for most requests since the last deploy"),
    ("disk full on node", "df shows 100% on /var/lib/docker and new pods fail with no space left on device"),
    ("TLS certificate expires soon", "the certificate for the public endpoint expires in 5 days and renewal failed"),
    ("DNS lookups time out", "resolving internal service names takes seconds and sometimes fails with SERVFAIL"),
    ("high p99 latency", "p99 went from 120ms to 2s after the traffic spike; CPU throttling visible in grafana"),
    ("CrashLoopBackOff after upgrade", "the new image crashes on start with a missing environment variable"),
    ("connection refused to database", "the app logs connection refused to postgres on port 5432 intermittently"),
    ("ImagePullBackOff", "pods cannot pull the image from the registry: unauthorized"),
    ("cron job did not run", "the nightly export job has not run for two days; no events in the namespace"),
    ("how do I rotate the API keys", "we need a procedure to rotate credentials without downtime"),
    ("invoice shows double charge", "the October invoice lists the plan twice"),
    ("please add SSO with Okta", "we would like to sign in with our identity provider"),
    ("user cannot log in", "a colleague gets access denied after the password reset"),
];

/// A small deterministic generator, so that every run seeds the same data.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let temp = tempfile::tempdir()?;
    // A second argument keeps the seeded data there, for looking into afterwards.
    let data_dir = std::env::args().nth(2).map(std::path::PathBuf::from).unwrap_or_else(|| temp.path().to_path_buf());
    let options = Options::on_loopback(data_dir.clone());
    let state = build_state(&options).await?;
    let store = state.store.clone();
    let input = UserInput { email: "bench@acme.test", name: "", role: Role::Admin, password: None };
    let me = accounts::ensure_user(store.as_ref(), "acme", input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = accounts::create_token(store.as_ref(), &me, "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?.secret;

    // Seed through the store, as the create path does, minus HTTP and the review.
    let mut rng = Lcg(42);
    let started = Instant::now();
    for i in 0..count {
        let service = SERVICES[rng.next(SERVICES.len())];
        let namespace = NAMESPACES[rng.next(NAMESPACES.len())];
        let (problem, detail) = PROBLEMS[rng.next(PROBLEMS.len())];
        let subject = format!("{service} in {namespace}: {problem}");
        let description = format!(
            "{detail}. Seen on {service}-{:x} in the {namespace} cluster, ticket batch {i}.",
            rng.next(1 << 24)
        );
        let status =
            [Status::Open, Status::Triaging, Status::InProgress, Status::Resolved, Status::Closed][rng.next(5)];
        store
            .create_ticket(
                NewTicket {
                    org_id: me.org.id.clone(),
                    key_prefix: "ACME".into(),
                    terms: review::stored_terms(&subject, &description),
                    subject,
                    description,
                    category: Category::Technical,
                    severity: [Severity::Low, Severity::Medium, Severity::High][rng.next(3)],
                    status,
                    source: Source::Api,
                    cluster_id: None,
                    ai_summary: None,
                    ai_review_status: ReviewStatus::Passed,
                    duplicate_of: None,
                    created_by: Some(me.user.id.clone()),
                },
                vec![NewEntry::system(opsdesk_app::model::TimelineEvent::Created { source: Source::Api })],
            )
            .await?;
    }
    let seed_time = started.elapsed();
    // A long-running server checkpoints its WAL as it goes; do it once here
    // so that the seeding's 80 MB of WAL is not folded into a measured request.
    let mut conn: sqlx::SqliteConnection =
        sqlx::Connection::connect(&opsdesk_server::default_database_url(&data_dir)).await?;
    sqlx::query("pragma wal_checkpoint(truncate)").execute(&mut conn).await?;
    drop(conn);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let tickets = format!("{base}/api/v1/org/support/tickets");

    // Warm the page cache and connections once.
    http.get(&tickets).bearer_auth(&token).send().await?.error_for_status()?;

    let mut results = Vec::new();
    let queries: Vec<(&str, Vec<String>)> = vec![
        ("list, newest page", vec!["".into()]),
        ("list, status=open&status=triaging, page 20", vec!["status=open&status=triaging&page=20".into()]),
        ("search q (one word, varied)", SERVICES.iter().map(|s| format!("q={s}")).collect()),
        (
            "search q (two words) + status filter",
            SERVICES.iter().map(|s| format!("q={s}%20latency&status=open")).collect(),
        ),
    ];
    const RUNS: usize = 300;
    for (label, variants) in &queries {
        let mut samples = Vec::with_capacity(RUNS);
        for run in 0..RUNS {
            let url = format!("{tickets}?{}", variants[run % variants.len()]);
            let begun = Instant::now();
            let response = http.get(&url).bearer_auth(&token).send().await?.error_for_status()?;
            response.bytes().await?;
            samples.push(begun.elapsed());
        }
        results.push((label.to_string(), percentile(&mut samples, 0.5), percentile(&mut samples, 0.99)));
    }

    let mut samples = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let service = SERVICES[run % SERVICES.len()];
        let (problem, detail) = PROBLEMS[run % PROBLEMS.len()];
        let body = json!({ "subject": format!("{problem} on {service}"), "description": format!("{detail} for {service} in prod") });
        let begun = Instant::now();
        http.post(format!("{tickets}/review"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        samples.push(begun.elapsed());
    }
    results.push((
        "review with duplicate search".into(),
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.99),
    ));

    // Creation rate through the API (review included), 4 clients at once.
    const CREATES: usize = 1_000;
    const CLIENTS: usize = 4;
    let begun = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (http, tickets, token) = (http.clone(), tickets.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..CREATES / CLIENTS {
                let body = json!({ "subject": format!("created by client {client}, #{i}: gateway 502"), "description": "ingress answers 502 since the deploy" });
                http.post(&tickets).bearer_auth(&token).json(&body).send().await?.error_for_status()?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let create_rate = CREATES as f64 / begun.elapsed().as_secs_f64();

    println!(
        "Seeded {count} tickets in {:.1} s ({:.0} tickets/s through the store).\n",
        seed_time.as_secs_f64(),
        count as f64 / seed_time.as_secs_f64()
    );
    println!("| with {count} tickets, {RUNS} requests each, sequential | p50 | p99 |\n|---|---|---|");
    for (label, p50, p99) in results {
        println!("| {label} | {} | {} |", ms(p50), ms(p99));
    }
    println!("\nTicket creation through the API (review and duplicate search included), {CLIENTS} concurrent clients: {create_rate:.0} tickets/s.");

    let _ = stop.send(());
    server.await??;
    Ok(())
}
