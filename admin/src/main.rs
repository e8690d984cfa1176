//! `portal-admin`: the Portal's administration CLI. It reads the same configuration as the
//! functions (`PORTAL_TABLE`, the AWS environment — after `source .local/env` it talks to the
//! local stack) and prints JSON. Key plaintexts appear only in the output that issues them.

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};

use portal_shared::clock;
use portal_shared::input::Platform;
use portal_shared::keys::KEY_CACHE_SECONDS;
use portal_shared::store::{client_from_env, Store};
use portal_shared::users::UserState;

#[derive(Parser)]
#[command(name = "portal-admin", about = "Administer the Portal login-code service", version)]
struct Cli {
    /// DynamoDB table (defaults to $PORTAL_TABLE).
    #[arg(long, env = "PORTAL_TABLE", global = true, default_value = "portal")]
    table: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The table.
    Table {
        #[command(subcommand)]
        command: TableCommand,
    },
    /// The web client's public API keys.
    PublicKeys {
        #[command(subcommand)]
        command: PublicKeyCommand,
    },
    /// Bots and their keys.
    Bots {
        #[command(subcommand)]
        command: BotCommand,
    },
    /// Users.
    Users {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Local development: create the table and register the given dev keys (idempotent).
    DevSeed {
        #[arg(long, env = "PORTAL_DEV_PUBLIC_KEY", default_value = "ppub_local_public_key")]
        public_key: String,
        #[arg(long, env = "PORTAL_DEV_BOT_KEY_DISCORD", default_value = "hbot_local_discord")]
        discord_bot_key: String,
        #[arg(long, env = "PORTAL_DEV_BOT_KEY_TELEGRAM", default_value = "hbot_local_telegram")]
        telegram_bot_key: String,
    },
}

#[derive(Subcommand)]
enum TableCommand {
    /// Create the table if it does not exist (same definition as template.yaml).
    Create,
    /// Check the invariants of multi-item writes (scans the whole table).
    Check,
}

#[derive(Subcommand)]
enum PublicKeyCommand {
    /// Issue a new public key; its plaintext is printed once.
    Issue,
    List,
    /// Revoke a key by id.
    Revoke {
        id: u64,
    },
}

#[derive(Subcommand)]
enum BotCommand {
    /// Register a bot; its `hbot_` key is printed once.
    Register {
        #[arg(long, value_parser = bot_name)]
        name: String,
        #[arg(long, value_enum)]
        platform: PlatformArg,
        #[arg(long)]
        owner_id: u64,
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        rate_limit_per_hour: u32,
    },
    List,
    Update {
        id: u64,
        #[arg(long, value_parser = bot_name)]
        name: Option<String>,
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        rate_limit_per_hour: Option<u32>,
        #[arg(long)]
        active: Option<bool>,
    },
    /// Replace the bot's key: the old key stops working at once for new containers and
    /// within the key cache window for warm ones.
    RegenerateKey {
        id: u64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    Show {
        username: String,
    },
    /// Ban, time out (`--for` seconds) or restore a user.
    SetState {
        username: String,
        #[arg(value_enum)]
        state: StateArg,
        #[arg(long = "for", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
        duration: Option<u64>,
    },
    /// 0 user, 1 moderator, 2 admin, 3 owner.
    SetPermission {
        username: String,
        #[arg(value_parser = clap::value_parser!(u8).range(0..=3))]
        level: u8,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum PlatformArg {
    Discord,
    Telegram,
}

impl From<PlatformArg> for Platform {
    fn from(p: PlatformArg) -> Self {
        match p {
            PlatformArg::Discord => Platform::Discord,
            PlatformArg::Telegram => Platform::Telegram,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum StateArg {
    Active,
    Banned,
    Timeout,
}

fn bot_name(s: &str) -> Result<String, String> {
    let n = s.trim();
    if (2..=32).contains(&n.chars().count()) && !n.chars().any(char::is_control) {
        Ok(n.to_string())
    } else {
        Err("a bot name is 2-32 characters".into())
    }
}

type Outcome = Result<Value, String>;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    let store = Store::new(client_from_env().await, cli.table.clone());
    match run(&store, cli.command).await {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
        Err(e) => {
            eprintln!("{}", json!({ "error": e }));
            std::process::exit(1);
        }
    }
}

fn err(e: portal_shared::Error) -> String {
    match e.cause() {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

async fn run(store: &Store, command: Command) -> Outcome {
    let now = clock::now();
    let now_iso = clock::iso(now);
    match command {
        Command::Table { command: TableCommand::Create } => {
            let created = store.create_table().await.map_err(err)?;
            Ok(json!({ "table": store.table(), "created": created }))
        }
        Command::Table { command: TableCommand::Check } => {
            let problems = store.consistency_problems().await.map_err(err)?;
            if problems.is_empty() {
                Ok(json!({ "table": store.table(), "consistent": true }))
            } else {
                Err(serde_json::to_string(&json!({ "consistent": false, "problems": problems })).unwrap_or_default())
            }
        }
        Command::PublicKeys { command } => match command {
            PublicKeyCommand::Issue => {
                let (info, key) = store.issue_public_key(None, &now_iso).await.map_err(err)?;
                Ok(json!({ "public_key": info, "key": key }))
            }
            PublicKeyCommand::List => Ok(json!({ "public_keys": store.list_public_keys().await.map_err(err)? })),
            PublicKeyCommand::Revoke { id } => {
                let info = store.revoke_public_key(id, &now_iso).await.map_err(err)?;
                Ok(json!({ "public_key": info, "cache_window_seconds": KEY_CACHE_SECONDS }))
            }
        },
        Command::Bots { command } => match command {
            BotCommand::Register { name, platform, owner_id, rate_limit_per_hour } => {
                let (bot, key) = store
                    .register_bot(&name, platform.into(), owner_id, rate_limit_per_hour, None, &now_iso)
                    .await
                    .map_err(err)?;
                Ok(json!({ "bot": bot, "key": key }))
            }
            BotCommand::List => Ok(json!({ "bots": store.list_bots().await.map_err(err)? })),
            BotCommand::Update { id, name, rate_limit_per_hour, active } => {
                let bot =
                    store.update_bot(id, name.as_deref(), rate_limit_per_hour, active, &now_iso).await.map_err(err)?;
                Ok(json!({ "bot": bot, "cache_window_seconds": KEY_CACHE_SECONDS }))
            }
            BotCommand::RegenerateKey { id } => {
                let (bot, key) = store.regenerate_bot_key(id, &now_iso).await.map_err(err)?;
                Ok(json!({ "bot": bot, "key": key, "cache_window_seconds": KEY_CACHE_SECONDS }))
            }
        },
        Command::Users { command } => users(store, command, now).await,
        Command::DevSeed { public_key, discord_bot_key, telegram_bot_key } => {
            let created = store.create_table().await.map_err(err)?;
            let mut seeded = Vec::new();
            if !store.key_exists(&public_key).await.map_err(err)? {
                store.issue_public_key(Some(&public_key), &now_iso).await.map_err(err)?;
                seeded.push("public");
            }
            for (key, platform, name) in [
                (&discord_bot_key, Platform::Discord, "Local Discord bot"),
                (&telegram_bot_key, Platform::Telegram, "Local Telegram bot"),
            ] {
                if !store.key_exists(key).await.map_err(err)? {
                    store.register_bot(name, platform, 1, 1000, Some(key), &now_iso).await.map_err(err)?;
                    seeded.push(platform.as_str());
                }
            }
            Ok(json!({
                "table": store.table(),
                "table_created": created,
                "newly_seeded": seeded,
                "public_key": public_key,
                "discord_bot_key": discord_bot_key,
                "telegram_bot_key": telegram_bot_key,
            }))
        }
    }
}

async fn users(store: &Store, command: UserCommand, now: clock::Instant) -> Outcome {
    let now_iso = clock::iso(now);
    let find = |name: String| async move {
        store.get_user_by_username(&name).await.map_err(err)?.ok_or_else(|| format!("no user named {name:?}"))
    };
    match command {
        UserCommand::Show { username } => {
            let u = find(username).await?;
            Ok(json!({
                "user": u.me(now.timestamp()),
                "state": u.state.as_str(),
                "timeout_until": u.timeout_until.map(clock::iso_from_epoch),
                "consecutive_bot_logins": u.bot_streak,
            }))
        }
        UserCommand::SetState { username, state, duration } => {
            let u = find(username).await?;
            let (state, until) = match (state, duration) {
                (StateArg::Timeout, Some(secs)) => (UserState::Timeout, Some(now.timestamp() + secs as i64)),
                (StateArg::Timeout, None) => return Err("timeout needs --for <seconds>".into()),
                (_, Some(_)) => return Err("--for goes with timeout only".into()),
                (StateArg::Active, None) => (UserState::Active, None),
                (StateArg::Banned, None) => (UserState::Banned, None),
            };
            store.set_user_state(&u, state, until, &now_iso).await.map_err(err)?;
            Ok(
                json!({ "username": u.username, "state": state.as_str(), "timeout_until": until.map(clock::iso_from_epoch) }),
            )
        }
        UserCommand::SetPermission { username, level } => {
            let u = find(username).await?;
            store.set_user_permission(&u, level, &now_iso).await.map_err(err)?;
            Ok(json!({ "username": u.username, "permission_level": level }))
        }
    }
}
