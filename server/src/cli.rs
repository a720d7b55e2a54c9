//! The one-shot subcommands: `migrate`, `schema`, `token create`, `admin set-password`.

use std::io::BufRead;

use secrecy::ExposeSecret;

use crate::{
    auth::password::Hasher,
    config::{AdminCommand, ConfigError, Settings, TokenCommand},
    db, graphql,
    service::{access_tokens, admins},
};

/// `amp-pool migrate`.
pub async fn migrate(settings: &Settings) -> Result<(), ConfigError> {
    settings.validate()?;
    let db = db::connect(settings).await?;
    db::migrate(&db).await?;
    println!("database is up to date");
    Ok(())
}

/// `amp-pool schema`: the SDL on standard output.
pub fn schema() {
    print!("{}", graphql::sdl());
}

/// `amp-pool token …`.
pub async fn token(settings: &Settings, command: TokenCommand) -> Result<(), ConfigError> {
    let TokenCommand::Create { name } = command;
    settings.validate()?;
    let db = db::connect(settings).await?;
    db::migrate(&db).await?;
    let (secret, row) = access_tokens::create(
        &db,
        access_tokens::NewToken {
            name,
            ..Default::default()
        },
    )
    .await
    .map_err(|error| ConfigError(format!("cannot create the token: {error}")))?;
    eprintln!(
        "created access token {} ({}); it is shown only once:",
        row.id, row.name
    );
    println!("{secret}");
    Ok(())
}

/// `amp-pool admin …`.
pub async fn admin(settings: &Settings, command: AdminCommand) -> Result<(), ConfigError> {
    let AdminCommand::SetPassword { username } = command;
    settings.validate()?;
    let username = username.unwrap_or_else(|| settings.admin_username.clone());
    let password = match &settings.admin_password {
        Some(password) => password.expose_secret().to_string(),
        None => {
            eprintln!("new password for {username:?} (one line on standard input):");
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|error| ConfigError(format!("cannot read the password: {error}")))?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let db = db::connect(settings).await?;
    db::migrate(&db).await?;
    admins::set_password(&db, &Hasher::default(), &username, &password)
        .await
        .map_err(|error| ConfigError(format!("cannot set the password: {error}")))?;
    println!("password set for {username:?}");
    Ok(())
}
