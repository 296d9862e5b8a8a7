//! Tables for the pure parts: badges, the renewal schedule, the back-off.

use super::*;
use crate::oauth::client::AuthMethod;
use crate::store::state::SessionMeta;
use crate::store::state::StoredEndpoints;

fn meta(issued: u64, expires: Option<u64>, refresh: bool) -> SessionMeta {
    SessionMeta {
        generation: 1,
        issuer: Some("https://idp.example".into()),
        client_id: "c".into(),
        auth: AuthMethod::None,
        client_secret_env: None,
        allow_http: false,
        endpoints: StoredEndpoints::default(),
        subject: None,
        subject_label: None,
        scope: None,
        token_type: "Bearer".into(),
        obtained_at: issued,
        refreshed_at: None,
        access_issued_at: issued,
        access_expires_at: expires,
        has_refresh_token: refresh,
        refresh_expires_at: None,
        has_id_token: false,
        id_expires_at: None,
        dpop_jkt: None,
        dpop_bound_access: false,
    }
}

fn row(session: Option<SessionMeta>, auto: bool, refresh: Refresh) -> Row {
    let mut r = Row::new("p", false, None);
    r.session = session;
    r.auto_refresh = auto;
    r.refresh = refresh;
    r
}

#[test]
fn badges() {
    let failed = Refresh::Failed {
        at: 0,
        message: "x".into(),
        failures: 1,
        retry_at: 30,
    };
    let table = [
        (row(None, true, Refresh::Idle), 1000, Badge::NotLoggedIn),
        (row(None, true, failed.clone()), 1000, Badge::RefreshFailed),
        (
            row(Some(meta(0, Some(3600), true)), true, Refresh::Idle),
            1000,
            Badge::Valid,
        ),
        (
            row(Some(meta(0, Some(3600), true)), true, failed),
            1000,
            Badge::RefreshFailed,
        ),
        (
            row(
                Some(meta(0, Some(3600), true)),
                true,
                Refresh::Running {
                    auto: true,
                    failures: 0,
                },
            ),
            1000,
            Badge::Refreshing,
        ),
        (
            row(Some(meta(0, Some(3600), true)), true, Refresh::Idle),
            3600,
            Badge::Expired,
        ),
        (
            row(Some(meta(0, Some(3600), false)), true, Refresh::Idle),
            3600,
            Badge::Expired,
        ),
        (
            row(Some(meta(0, Some(3600), false)), true, Refresh::Idle),
            1000,
            Badge::NoRefreshToken,
        ),
        // Without a refresh token, the last minutes are worth a warning.
        (
            row(Some(meta(0, Some(3600), false)), true, Refresh::Idle),
            3400,
            Badge::Expiring,
        ),
        // Expiring soon only matters when nothing will renew it.
        (
            row(Some(meta(0, Some(3600), true)), false, Refresh::Idle),
            3400,
            Badge::Expiring,
        ),
        (
            row(Some(meta(0, Some(3600), true)), true, Refresh::Idle),
            3400,
            Badge::Valid,
        ),
        (
            row(Some(meta(0, None, true)), true, Refresh::Idle),
            3400,
            Badge::Valid,
        ),
    ];
    for (i, (r, now, want)) in table.into_iter().enumerate() {
        assert_eq!(badge(&r, UnixTime::from_unsigned(now)), want, "case {i}");
    }
}

#[test]
fn renewal_schedule() {
    let failed = |retry_at| Refresh::Failed {
        at: 0,
        message: "x".into(),
        failures: 1,
        retry_at,
    };
    let table = [
        // 60 s before a one-hour token expires.
        (
            row(Some(meta(0, Some(3600), true)), true, Refresh::Idle),
            Some(3540),
        ),
        // Capped at half the lifetime of a short token.
        (
            row(Some(meta(0, Some(40), true)), true, Refresh::Idle),
            Some(20),
        ),
        (
            row(Some(meta(0, Some(3600), true)), false, Refresh::Idle),
            None,
        ),
        (
            row(Some(meta(0, Some(3600), false)), true, Refresh::Idle),
            None,
        ),
        (row(Some(meta(0, None, true)), true, Refresh::Idle), None),
        (row(None, true, Refresh::Idle), None),
        (
            row(
                Some(meta(0, Some(3600), true)),
                true,
                Refresh::Running {
                    auto: false,
                    failures: 0,
                },
            ),
            None,
        ),
        // After a failure: not before the back-off ends.
        (
            row(Some(meta(0, Some(3600), true)), true, failed(3570)),
            Some(3570),
        ),
        (
            row(Some(meta(0, Some(3600), true)), true, failed(10)),
            Some(3540),
        ),
    ];
    for (i, (r, want)) in table.into_iter().enumerate() {
        assert_eq!(renewal_at(&r), want, "case {i}");
    }
    let mut r = row(Some(meta(0, Some(3600), true)), true, Refresh::Idle);
    r.refresh_before = 600;
    assert_eq!(renewal_at(&r), Some(3000));
}

#[test]
fn backoff_doubles_to_ten_minutes() {
    let got: Vec<u64> = (1..=8).map(backoff).collect();
    assert_eq!(got, [30, 60, 120, 240, 480, 600, 600, 600]);
}
