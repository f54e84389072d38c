//! `pilot login`.

use std::io::{BufRead, IsTerminal};

use serde_json::json;

use super::Context;
use super::args::LoginArgs;
use super::error::{CliError, Result};
use super::output::{self, Out};

/// Reads the password of `pilot login`: one line of standard input with
/// `--password-stdin`, else a prompt on the terminal.
pub fn read_password(args: &LoginArgs) -> Result<String> {
    let password = if args.password_stdin {
        read_stdin_line("the password from standard input")?
    } else {
        prompt_password(&args.user)?
    };
    if password.is_empty() {
        return Err(CliError::usage(
            "the password is empty; type it or pass it on standard input",
        ));
    }
    Ok(password)
}

/// Logs in as `user` and saves the server and session token to the client
/// config (mode 0600).
pub async fn login(ctx: &Context, user: &str, password: &str, out: Out<'_>) -> Result<()> {
    let session = ctx.client.login(user, password).await?;
    ctx.save_session(&session.token)?;
    if ctx.json {
        return output::json(
            out,
            &json!({
                "server": ctx.client.base_url(),
                "user": session.user,
                "expires_at_ms": session.expires_at_ms,
                "config": ctx.config_path,
            }),
        );
    }
    writeln!(
        out,
        "logged in to {} as {} (session valid until {} UTC)",
        ctx.client.base_url(),
        session.user.username,
        output::utc(session.expires_at_ms)
    )?;
    Ok(())
}

/// One line of standard input, without its line ending.
pub(crate) fn read_stdin_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| CliError::Input {
            what: what.to_string(),
            cause: source,
        })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn prompt_password(user: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(
            "no terminal to ask for the password; pass it with --password-stdin",
        ));
    }
    rpassword::prompt_password(format!("password for {user}: ")).map_err(|source| CliError::Input {
        what: "the password".to_string(),
        cause: source,
    })
}
