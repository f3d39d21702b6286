//! Redacted `Debug` for types that carry personal data or secrets: a log line, a panic
//! message or a `{:?}` in a test failure shows which fields a value has, never what
//! they hold. Shared by every crate (ingest, core, server), so it lives in this pure
//! crate.

/// Implements `Debug` for a struct, printing each named field as `[personal]` (or
/// `None` when an `Option` field is empty is not distinguished: presence is personal
/// too).
///
/// ```
/// struct SignIn { user_id: String, password: String }
/// datavow_policy::redacted_debug!(SignIn { user_id, password });
/// let shown = format!("{:?}", SignIn { user_id: "k7q2-m9x1".into(), password: "hunter2".into() });
/// assert_eq!(shown, "SignIn { user_id: [personal], password: [personal] }");
/// ```
#[macro_export]
macro_rules! redacted_debug {
    ($ty:ident $(<$lt:lifetime>)? { $($field:ident),* $(,)? }) => {
        impl $(<$lt>)? ::std::fmt::Debug for $ty $(<$lt>)? {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                // Every field is named so that a new field needs a decision here.
                let $ty { $($field: _),* } = self;
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &$crate::redact::Redacted))*
                    .finish()
            }
        }
    };
}

/// What a redacted field prints.
#[derive(Clone, Copy)]
pub struct Redacted;

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[personal]")
    }
}
