//! The OAuth 2.0 client: transport rules, quirk normalisation, discovery, the device flow
//! (request, pure poll step, driver) and refresh.
//!
//! Layering: [`http`] moves bytes under policy; [`normalize`] turns any provider's answer into
//! one shape; [`device`], [`discovery`] and [`refresh`] speak the protocol; [`poll`] decides
//! what each answer means without doing IO; [`driver`] runs the poll step in time.

pub mod client;
pub mod device;
pub mod discovery;
pub mod driver;
pub mod http;
pub mod normalize;
pub mod poll;
pub mod reach;
pub mod refresh;
pub mod revoke;
pub mod token;
