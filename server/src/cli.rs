//! The one-shot subcommands: `migrate`, `schema`, `token create`, `admin set-password`,
//! `secrets rotate`, `backup`.

use std::{io::BufRead, path::Path};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use secrecy::ExposeSecret;

use crate::{
    auth::password::Hasher,
    config::{AdminCommand, ConfigError, SecretsCommand, Settings, TokenCommand},
    db, graphql,
    service::{access_tokens, admins},
    vault::{self, Vault, master_key},
};

/// `amp-pool migrate`.
pub async fn migrate(settings: &Settings) -> Result<(), ConfigError> {
    settings.validate()?;
    let db = db::connect(settings, db::Role::Shared).await?;
    db::migrate_in_turn(&db).await?;
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
    let db = db::connect(settings, db::Role::Shared).await?;
    db::migrate_in_turn(&db).await?;
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
    let db = db::connect(settings, db::Role::Shared).await?;
    db::migrate_in_turn(&db).await?;
    admins::set_password(&db, &Hasher::default(), &username, &password)
        .await
        .map_err(|error| ConfigError(format!("cannot set the password: {error}")))?;
    println!("password set for {username:?}");
    Ok(())
}

/// `amp-pool secrets …`.
pub async fn secrets(settings: &Settings, command: SecretsCommand) -> Result<(), ConfigError> {
    let SecretsCommand::Rotate { new_key_file } = command;
    settings.validate()?;
    let new = Vault::new(&master_key::read_file(&new_key_file)?);
    let db = db::connect(settings, db::Role::Shared).await?;
    db::migrate_in_turn(&db).await?;
    let current = vault::unlock(settings, &db).await?;
    if current.key_id() == new.key_id() {
        return Err(ConfigError(format!(
            "{} holds the master key already in use ({}); make a new one with `openssl rand -base64 32`",
            new_key_file.display(),
            new.key_id()
        )));
    }
    let done = vault::rows::reseal(&db, &current, &new)
        .await
        .map_err(|error| ConfigError(format!("nothing was changed: {error}")))?;
    println!(
        "re-encrypted {} keys and {} settings from master key {} to {}",
        done.keys,
        done.settings,
        current.key_id(),
        new.key_id()
    );
    let next_step = match &settings.master_key {
        Some(_) => format!(
            "set AMP_POOL_MASTER_KEY to the contents of {} on every instance",
            new_key_file.display()
        ),
        None => format!(
            "replace {} with {} on every instance (e.g. `mv {} {}`)",
            master_key::key_file(settings).display(),
            new_key_file.display(),
            new_key_file.display(),
            master_key::key_file(settings).display()
        ),
    };
    println!("now {next_step}, then restart; the old key no longer opens this database");
    Ok(())
}

/// `amp-pool backup PATH`: a consistent copy of the live SQLite database (`VACUUM INTO`),
/// safe while the server runs.
pub async fn backup(settings: &Settings, path: &Path) -> Result<(), ConfigError> {
    settings.validate()?;
    if !settings.database_url.starts_with("sqlite:") {
        return Err(ConfigError(
            "the database is PostgreSQL: back it up with `pg_dump --format=custom --file=amp_pool.dump \"$DATABASE_URL\"` and restore with `pg_restore --clean --dbname=\"$DATABASE_URL\" amp_pool.dump`; keep the master key with the dump".into(),
        ));
    }
    if path.exists() {
        return Err(ConfigError(format!(
            "{} exists already; choose a new file name (a backup never overwrites)",
            path.display()
        )));
    }
    let db = db::connect(settings, db::Role::Shared).await?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [path.to_string_lossy().into_owned().into()],
    ))
    .await
    .map_err(|error| ConfigError(format!("cannot write {}: {error}", path.display())))?;
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
    println!(
        "wrote {} ({bytes} bytes) from {}",
        path.display(),
        crate::config::redact_url(&settings.database_url)
    );
    if settings.master_key.is_none() {
        println!(
            "the keys in it are encrypted: back up {} too, without it they cannot be read",
            master_key::key_file(settings).display()
        );
    } else {
        println!(
            "the keys in it are encrypted: keep AMP_POOL_MASTER_KEY too, without it they cannot be read"
        );
    }
    Ok(())
}
