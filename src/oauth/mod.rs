//! The OAuth 2.0 client: transport rules, quirk normalisation, discovery, the device flow
//! (request, pure poll step, driver) and refresh, and the cross-device guidance shown with a
//! device code ([`crossdevice`]); the browser login, the authorization code grant with PKCE
//! ([`authcode`]).
//!
//! Layering: [`http`] moves bytes under policy; [`normalize`] turns any provider's answer into
//! one shape; [`device`], [`discovery`] and [`refresh`] speak the protocol; [`poll`] decides
//! what each answer means without doing IO; [`driver`] runs the poll step in time.

pub mod authcode;
pub mod client;
pub mod crossdevice;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod driver;
pub mod http;
pub mod normalize;
pub mod poll;
pub mod reach;
pub mod refresh;
pub mod revoke;
pub mod token;
