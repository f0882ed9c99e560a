//! `doorstep user …`: sign-ins made from the command line (the first admin of a landlord).

use std::io::BufRead;

use anyhow::Context;
use secrecy::SecretString;

use crate::Config;
use crate::domain::identity::users;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a member of staff of an organisation.
    CreateStaff {
        /// The organisation's slug.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// The password (at least 8 characters, 15 or more recommended). Omit it to read
        /// one line from standard input instead, which keeps it out of the process list.
        #[arg(long)]
        password: Option<String>,
        /// customer_service, housing_officer, income, repairs or admin.
        #[arg(long)]
        role: String,
        /// The name shown to colleagues.
        #[arg(long)]
        name: Option<String>,
    },
}

pub async fn run(config: &Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::CreateStaff { org, email, password, role, name } => {
            let password = match password {
                Some(p) => p,
                None => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let db = crate::db::connect(&config.database_url, 2).await?;
            crate::db::migrate(&db).await?;
            let user = users::create_staff(&db, &org, &email, SecretString::from(password), &role, name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created {} ({}) at {org}, user id {}", user.email, user.role, user.id);
            Ok(())
        }
    }
}
