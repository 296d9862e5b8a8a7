//! `tvlogin logout`: revoke, then delete locally, reporting each step.

use crate::cli::ProfileArgs;
use crate::config::DEFAULT_PROFILE;
use crate::error::Error;
use crate::exit::Exit;
use crate::sanitize::escape;
use crate::session::{self, Context, Step, StepOutcome};

/// `tvlogin logout`.
pub async fn logout(args: ProfileArgs) -> Result<Exit, Error> {
    let ctx = Context::from_env()?;
    let profile = args.profile.unwrap_or_else(|| DEFAULT_PROFILE.into());
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
    match session::logout(&ctx, &profile, &mut report).await {
        Ok(false) => {
            eprintln!(
                "Profile {:?} is not logged in; nothing to do.",
                escape(&profile)
            );
            Ok(Exit::Ok)
        }
        Ok(true) => {
            eprintln!("Logged out of profile {:?}.", escape(&profile));
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
