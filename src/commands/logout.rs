//! `tvlogin logout`: revoke, then delete locally, reporting each step.

use std::time::Duration;

use crate::cli::LogoutArgs;
use crate::config::DEFAULT_PROFILE;
use crate::error::Error;
use crate::exit::Exit;
use crate::sanitize::escape;
use crate::session::{self, Context, LogoutOptions, Step, StepOutcome};

/// `tvlogin logout`.
pub async fn logout(args: LogoutArgs) -> Result<Exit, Error> {
    let ctx = Context::from_env()?;
    let profile = args.profile.unwrap_or_else(|| DEFAULT_PROFILE.into());
    super::helper::check_profile_exists(&ctx, &profile).await?;
    if args.timeout == 0 {
        return Err(Error::Usage("--timeout must be at least 1 second".into()));
    }
    let options = LogoutOptions {
        timeout: Duration::from_secs(args.timeout),
        forget: args.forget,
    };
    let mut announced = false;
    let mut report = |step: &Step| {
        if !announced {
            eprintln!("Logging out of profile {:?}:", escape(&profile));
            announced = true;
        }
        let outcome = match &step.outcome {
            StepOutcome::Done => "done".to_owned(),
            StepOutcome::Skipped(why) => format!("skipped: {why}"),
            StepOutcome::Failed(e) => format!("FAILED: {e}"),
        };
        eprintln!("  {}: {}", escape(&step.what), escape(&outcome));
    };
    match session::logout_with(&ctx, &profile, options, &mut report).await {
        Ok(false) if args.forget => {
            eprintln!(
                "Profile {:?} was not logged in; its settings are forgotten.",
                escape(&profile)
            );
            Ok(Exit::Ok)
        }
        Ok(false) => {
            eprintln!(
                "Profile {:?} is not logged in; nothing to do.",
                escape(&profile)
            );
            Ok(Exit::Ok)
        }
        Ok(true) if args.forget => {
            eprintln!(
                "Logged out of profile {:?} and forgot its settings.",
                escape(&profile)
            );
            Ok(Exit::Ok)
        }
        Ok(true) => {
            eprintln!(
                "Logged out of profile {:?}; `{}` logs in again the same way.",
                escape(&profile),
                escape(&session::login_command(&profile))
            );
            Ok(Exit::Ok)
        }
        Err(e) => {
            eprintln!(
                "Not every step of the logout of profile {:?} worked (see above).",
                escape(&profile)
            );
            Err(e)
        }
    }
}
