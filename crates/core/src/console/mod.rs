//! The operator console's logic: sign-in with a second factor ([`sign_in`]) and each
//! role's home page ([`home`]). The pages themselves are the server's.

pub mod home;
pub mod sign_in;

pub use datavow_store::LastRun;
pub use home::{home, record_run, Home};
pub use sign_in::{ConsoleError, ConsoleSession, Enrolment, Stage};
