//! `tvlogin refresh`: refresh a profile's tokens now.

use std::time::Duration;

use crate::cli::ProfileArgs;
use crate::clock::UnixTime;
use crate::config::DEFAULT_PROFILE;
use crate::error::Error;
use crate::exit::Exit;
use crate::humanize;
use crate::sanitize::escape;
use crate::session::{self, Context};

/// `tvlogin refresh`.
pub async fn refresh(args: ProfileArgs) -> Result<Exit, Error> {
    let ctx = Context::from_env()?;
    let profile = args.profile.unwrap_or_else(|| DEFAULT_PROFILE.into());
    super::helper::check_profile_exists(&ctx, &profile).await?;
    let report = match session::force_refresh(&ctx, &profile).await {
        Ok(report) => report,
        Err(e) => return Err(super::helper::with_login_hint(&ctx, &profile, e).await),
    };
    // Read after the refresh: the lifetimes printed are what is left now.
    let now = UnixTime::now();
    let left = |at: Option<u64>| match session::seconds_left(now, at) {
        Some(s) => format!("expires in {}", humanize::duration(Duration::from_secs(s))),
        None => "no expiry given".into(),
    };
    eprintln!(
        "Refreshed profile {:?}.\n  access token:  {}\n  refresh token: {}{}\n  stored in:     {}",
        escape(&profile),
        left(report.access_expires_at),
        if report.rotated { "rotated" } else { "kept" },
        report
            .refresh_expires_at
            .map(|_| format!(", {}", left(report.refresh_expires_at)))
            .unwrap_or_default(),
        escape(&report.location),
    );
    Ok(Exit::Ok)
}
