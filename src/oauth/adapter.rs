//! Lets the oauth2 crate send its requests through [`Http`].
//!
//! oauth2 5 is built for reqwest 0.12; this adapter plugs our reqwest 0.13 client (with its
//! redirect, timeout and size rules) in instead, and rewrites answers oauth2 would misread
//! (errors sent with HTTP 200, form bodies) via [`normalize::for_oauth2_crate`].

use std::future::Future;
use std::pin::Pin;

use super::http::{Http, HttpError};
use super::normalize;

impl<'c> oauth2::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let raw = self.execute(request).await?;
            Ok(normalize::for_oauth2_crate(&raw))
        })
    }
}
