//! The JSON API under `/api/v1`, one module per area. Every handler reaches personal
//! data through `datavow_core`, which asks `datavow_core::access` first.

pub mod accounts;
pub mod admin;
pub(crate) mod events;
pub mod locale;
pub mod policy;
pub mod recovery;

use crate::AppState;
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(accounts::routes())
        .merge(admin::routes())
        .merge(events::routes())
        .merge(locale::routes())
        .merge(policy::routes())
        .merge(recovery::routes())
}
