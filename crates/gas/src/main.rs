//! `gas`: run the Genomics Annotation Service and administer it.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use gas::config::{Backend, Config};
use gas::dev::{self, Services};
use gas_jobs::Role;

#[derive(Parser)]
#[command(name = "gas", version, about = "The Genomics Annotation Service")]
struct Cli {
    /// A TOML configuration file (GAS_* environment variables override it).
    #[arg(long, global = true, env = "GAS_CONFIG")]
    config: Option<PathBuf>,
    /// Where the embedded backend keeps its data (GAS_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run web, annotator and util in one process.
    Dev {
        #[arg(long, value_enum)]
        backend: Option<BackendArg>,
    },
    /// Run the web app and JSON API.
    Web,
    /// Run the annotator runner.
    Ann,
    /// Run the util webhooks (and, on the embedded backend, its timers and deliveries).
    Util,
    /// Create every resource the configuration names.
    Provision,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Look at the dead-letter queues and move their messages back.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Download and index reference data (transcript models, genome) for
    /// consequence annotation.
    #[command(subcommand)]
    Refdata(gas::refdata::RefdataCommand),
    /// Annotate a VCF file (plain or gzipped); the `gas-annotate`
    /// binary is this command alone.
    Annotate(gas_annotate_cli::AnnotateArgs),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; prints its API token alone on the last line.
    Add {
        email: String,
        #[arg(long, value_enum, default_value = "free")]
        role: RoleArg,
        #[arg(long)]
        password: Option<String>,
    },
    /// Change a user's role (premium restores archived results).
    SetRole { email: String, role: RoleArg },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Every dead-letter queue, how many messages it holds, and its source
    /// queue.
    List,
    /// The messages of a dead-letter queue, left in it.
    Show {
        /// `requests`, `results`, `archive` or `thaw`, or a queue's full name.
        queue: String,
        /// Show at most this many messages.
        #[arg(long, default_value_t = 10)]
        max: usize,
    },
    /// Move every message of a dead-letter queue back to its source queue.
    Redrive {
        /// `requests`, `results`, `archive` or `thaw`, or a queue's full name.
        queue: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Embedded,
    Aws,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Free,
    Premium,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Free => Role::Free,
            RoleArg::Premium => Role::Premium,
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    gas::telemetry::init_logging(&config.log_format);
    match cli.command {
        Command::Dev { backend } => {
            if let Some(b) = backend {
                config.backend = match b {
                    BackendArg::Embedded => Backend::Embedded,
                    BackendArg::Aws => Backend::Aws,
                };
            }
            run(config, Services::ALL, true).await
        }
        Command::Web => {
            run(
                config,
                Services {
                    web: true,
                    ann: false,
                    util: false,
                },
                false,
            )
            .await
        }
        Command::Ann => {
            run(
                config,
                Services {
                    web: false,
                    ann: true,
                    util: false,
                },
                false,
            )
            .await
        }
        Command::Util => {
            run(
                config,
                Services {
                    web: false,
                    ann: false,
                    util: true,
                },
                false,
            )
            .await
        }
        Command::Provision => {
            gas::system::provision(&config).await?;
            println!(
                "provisioned the {:?} backend (prefix {})",
                config.backend, config.aws_prefix
            );
            Ok(())
        }
        Command::User(cmd) => user(config, cmd).await,
        Command::Dlq(cmd) => dlq(config, cmd).await,
        Command::Refdata(cmd) => gas::refdata::run(cmd, &config.data_dir).await,
        Command::Annotate(args) => gas_annotate_cli::run(&args),
    }
}

async fn run(config: Config, services: Services, banner: bool) -> Result<()> {
    let running = dev::start(config, services).await?;
    if banner {
        let web = running
            .web_addr
            .map(|a| format!("http://{a}"))
            .unwrap_or_default();
        let data = running.config.data_dir.display().to_string();
        println!(
            "GAS is running on the {:?} backend (data in {data}).",
            running.config.backend
        );
        println!();
        println!("  Open {web}/ in your browser and sign up (free plan),");
        println!("  or make an account here and sign in with it:");
        println!("    gas --data-dir {data} user add you@example.org --password 'a long password'");
        println!();
        println!("  JSON API  : {web}/api/v1/jobs (Bearer token: `gas user add` prints one;");
        println!("              the profile page makes more)");
        if let Some(util) = running.util_addr {
            println!("  util      : http://{util}");
        }
        println!("Press Ctrl-C to stop.");
    }
    running
        .wait(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    Ok(())
}

async fn user(config: Config, cmd: UserCommand) -> Result<()> {
    let (ports, _) = gas::system::open(&config).await?;
    match cmd {
        UserCommand::Add {
            email,
            role,
            password,
        } => {
            let (user, token) =
                gas::users::add_user(&ports, &email, role.into(), password.as_deref()).await?;
            println!(
                "created {} user {} ({})",
                user.role.as_str(),
                user.email,
                user.user_id
            );
            println!("API token (shown once):");
            println!("{token}");
        }
        UserCommand::SetRole { email, role } => {
            let user = gas::users::set_role(&ports, &email, role.into()).await?;
            println!("{} is now {}", user.email, user.role.as_str());
        }
    }
    Ok(())
}

async fn dlq(config: Config, cmd: DlqCommand) -> Result<()> {
    use gas::dlq;
    let queues = dlq::open(&config).await?;
    match cmd {
        DlqCommand::List => {
            let listed = dlq::list(&queues).await?;
            const HEADER: &str = "DEAD-LETTER QUEUE";
            let width = listed
                .iter()
                .map(|l| l.queue.len())
                .fold(HEADER.len(), usize::max);
            println!("{HEADER:width$}  {:>8}  SOURCE QUEUE", "MESSAGES");
            for l in listed {
                println!("{:width$}  {:>8}  {}", l.queue, l.depth, l.source);
            }
        }
        DlqCommand::Show { queue, max } => {
            let queue = dlq::find(&queues, &queue)?;
            let shown = dlq::show(queue, max).await?;
            println!(
                "{}: {} message{} shown (source queue {})",
                queue.dlq.name(),
                shown.len(),
                if shown.len() == 1 { "" } else { "s" },
                queue.source.name()
            );
            for m in shown {
                let sent = m
                    .sent_at
                    .map(|t| format!(", sent {}", dlq::utc(t)))
                    .unwrap_or_default();
                println!();
                println!(
                    "message {} (received {} time{}{sent})",
                    m.message_id,
                    m.receive_count,
                    if m.receive_count == 1 { "" } else { "s" }
                );
                for line in m.body.lines() {
                    println!("  {line}");
                }
            }
        }
        DlqCommand::Redrive { queue } => {
            let queue = dlq::find(&queues, &queue)?;
            let done = dlq::redrive(queue).await?;
            println!(
                "moved {} message{} from {} to {}",
                done.moved,
                if done.moved == 1 { "" } else { "s" },
                queue.dlq.name(),
                queue.source.name()
            );
            if done.left > 0 {
                println!(
                    "left {} message{} in {} that were sent after the redrive began; run it again to move them",
                    done.left,
                    if done.left == 1 { "" } else { "s" },
                    queue.dlq.name()
                );
            }
        }
    }
    Ok(())
}
