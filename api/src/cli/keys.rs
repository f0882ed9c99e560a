//! `doorstep keys …`: the keys that sign access tokens.

use crate::Config;
use crate::domain::identity::audit::{self, Actor, ClientMeta, Event, Outcome};
use crate::domain::identity::tokens;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a new signing key and retire the current one. Tokens it signed keep working
    /// until they expire: the retired key stays in the JWKS for an hour.
    Rotate,
}

pub async fn run(config: &Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Rotate => {
            let db = crate::db::connect(&config.database_url, 2).await?;
            crate::db::migrate(&db).await?;
            let kid = tokens::rotate(&db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            audit::record_best_effort(
                &db,
                Event::new("signing_key.rotated", Outcome::Success, Actor::system("command line"))
                    .object("signing_key", &kid),
                &ClientMeta::default(),
            )
            .await;
            println!("new signing key {kid}; other servers pick it up within a minute");
            Ok(())
        }
    }
}
