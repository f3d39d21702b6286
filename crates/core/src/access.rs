//! Authorization: the one place that decides who may do what with personal data
//! (P11, P12, P13).
//!
//! Every entry point (JSON API, HTML pages, command line) goes through here:
//! - an operator's act is decided by [`decide`] from the role's purposes in the
//!   policy file (`[roles]`); privacy-officer-only functions and the `collector` role
//!   (which reads nothing) are decided here too;
//! - a person acts only on themself: the grant made for a signed-in person opens that
//!   person and nobody else (the vault refuses any other);
//! - visitors (sign-up, sign-in, contact form) and Datavow's own jobs get grants for
//!   fixed purposes named here.
//!
//! Invariants: this module alone holds the vault's [`GrantIssuer`], so no other code
//! can give the vault a purpose; a purpose that needs consent is refused by the vault
//! for a person without it, whatever the role.

use crate::operators::Operator;
use datavow_policy::{Category, Field, Policy, Purpose, Role};
use datavow_store::PersonId;
use datavow_vault::{Actor, Custody, Grant, GrantIssuer};

/// What an operator asks to do. Every operator entry point names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAct {
    /// Find a person by email address.
    SearchByEmail,
    /// Find a person by userID.
    SearchByUserId,
    /// See a person's data for a purpose.
    View(Purpose),
    /// Read who did what to a person's data (privacy officers).
    ReadAccessLog,
    /// Record a person's payment-processor reference (billing).
    SetPaymentReference,
    /// Record an invoice of a person (billing).
    RecordInvoice,
    /// Flag a person as a child whose data came without parental consent (P15): their
    /// data is erased at once. Roles that answer people's requests.
    FlagChild,
    /// Post browser events from a web tier (collectors).
    PostEvents,
    /// Record a person's marketing choice given to an operator (by phone or letter).
    RecordConsent,
    /// See the mail queue's dead letters (roles that answer requests or manage
    /// accounts; no content or address is shown).
    ReadMailQueue,
    /// See and register data-subject requests and mark them done (roles that answer
    /// people's requests).
    HandleRequests,
    /// See how operations stand: the audit chain's verification, backups, ingest per
    /// source (admins, security, privacy officers). No personal data is read.
    ReadOperations,
    /// See which operators lack a second factor their role requires (admins).
    ReadOperators,
}

impl OperatorAct {
    /// Every act, with every purpose for [`OperatorAct::View`]: the table the
    /// authorization tests walk.
    pub fn all() -> Vec<OperatorAct> {
        let mut acts = vec![
            OperatorAct::SearchByEmail,
            OperatorAct::SearchByUserId,
            OperatorAct::ReadAccessLog,
            OperatorAct::SetPaymentReference,
            OperatorAct::RecordInvoice,
            OperatorAct::FlagChild,
            OperatorAct::PostEvents,
            OperatorAct::ReadMailQueue,
            OperatorAct::RecordConsent,
            OperatorAct::HandleRequests,
            OperatorAct::ReadOperations,
            OperatorAct::ReadOperators,
        ];
        acts.extend(Purpose::ALL.iter().map(|p| OperatorAct::View(*p)));
        acts
    }
}

/// An act refused; the message names the role and the act, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    /// A stable code for API clients.
    pub code: &'static str,
    pub message: String,
}

fn denied(code: &'static str, message: String) -> Denied {
    Denied { code, message }
}

/// The purpose a role would search under: the first of its purposes whose categories
/// include `field`'s.
fn search_purpose(policy: &Policy, role: Role, field: Field) -> Option<Purpose> {
    let category = policy.category_of(field);
    policy
        .role_purposes(role)
        .find(|p| policy.grant(*p, category).is_ok())
}

/// Decides whether `role` may do `act`, and under which purpose.
pub fn decide(policy: &Policy, role: Role, act: OperatorAct) -> Result<Purpose, Denied> {
    match act {
        OperatorAct::SearchByEmail | OperatorAct::SearchByUserId => {
            let (field, what) = match act {
                OperatorAct::SearchByEmail => (Field::Email, "email address"),
                _ => (Field::UserId, "userID"),
            };
            search_purpose(policy, role, field).ok_or_else(|| {
                denied(
                    "search_not_allowed_for_role",
                    format!("role `{role}` may not look people up by {what}"),
                )
            })
        }
        OperatorAct::View(purpose) => {
            if policy.role_allows(role, purpose) {
                Ok(purpose)
            } else {
                Err(denied(
                    "purpose_not_allowed_for_role",
                    format!("role `{role}` may not read personal data for `{purpose}`"),
                ))
            }
        }
        OperatorAct::ReadAccessLog => {
            if role == Role::PrivacyOfficer {
                Ok(Purpose::Requests)
            } else {
                Err(denied(
                    "privacy_officer_only",
                    "only a privacy officer may read a person's access log".into(),
                ))
            }
        }
        OperatorAct::SetPaymentReference | OperatorAct::RecordInvoice => {
            let category = match act {
                OperatorAct::RecordInvoice => Category::BillingRecords,
                _ => Category::PaymentReference,
            };
            if policy.role_allows(role, Purpose::Billing)
                && policy.grant(Purpose::Billing, category).is_ok()
            {
                Ok(Purpose::Billing)
            } else {
                Err(denied(
                    "purpose_not_allowed_for_role",
                    format!("role `{role}` may not manage billing data"),
                ))
            }
        }
        OperatorAct::FlagChild | OperatorAct::RecordConsent | OperatorAct::HandleRequests => {
            if policy.role_allows(role, Purpose::Requests) {
                Ok(Purpose::Requests)
            } else {
                Err(denied(
                    "purpose_not_allowed_for_role",
                    format!("role `{role}` may not act on people's requests"),
                ))
            }
        }
        OperatorAct::ReadMailQueue => [Purpose::Requests, Purpose::AccountManagement]
            .into_iter()
            .find(|p| policy.role_allows(role, *p))
            .ok_or_else(|| {
                denied(
                    "purpose_not_allowed_for_role",
                    format!("role `{role}` may not see the mail queue"),
                )
            }),
        OperatorAct::ReadOperations => match role {
            Role::Admin => Ok(Purpose::AccountManagement),
            Role::Security => Ok(Purpose::Security),
            Role::PrivacyOfficer => Ok(Purpose::Requests),
            _ => Err(denied(
                "operations_not_allowed_for_role",
                format!("role `{role}` may not see the state of operations"),
            )),
        },
        OperatorAct::ReadOperators => {
            if role == Role::Admin {
                Ok(Purpose::AccountManagement)
            } else {
                Err(denied(
                    "admin_only",
                    "only an admin may see the operators' sign-in settings".into(),
                ))
            }
        }
        OperatorAct::PostEvents => {
            if role == Role::Collector {
                Ok(Purpose::Security)
            } else {
                Err(denied(
                    "collector_only",
                    "only an operator with the `collector` role may post events".into(),
                ))
            }
        }
    }
}

/// What a visitor who is not signed in may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VisitorAct {
    /// Create an account (account management).
    SignUp,
    /// Check a userID and password (the service).
    SignIn,
    /// Send a contact-form enquiry (leads).
    Contact,
    /// Ask for, and use, an account recovery link (the service).
    Recovery,
}

/// Datavow's own work on personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SystemAct {
    /// Writing access-log records and linking them to signed-in people: the server
    /// logs are kept for statistics, security and the law (P6); security covers both.
    Ingest,
    /// A command-line tool of the instance's owner (who holds the master key) looking a
    /// person up for the privacy officer (`datavow audit show`).
    PrivacyTool,
    /// Reading an address, while an erasure runs, to put its keyed hash on the
    /// marketing suppression list (answering the person's request).
    Suppress,
    /// A campaign sent by the instance's owner at the shell (`datavow marketing send`):
    /// the marketing purpose, so only people who opted in are read.
    Marketing,
    /// Opening queued messages to hand them to the SMTP server.
    Mail,
    /// A person's unsubscribe link (their request to stop marketing).
    Unsubscribe,
    /// Telling every account holder of a material policy change (P16): part of the
    /// service they use, so the service purpose.
    PolicyNotice,
    /// Roll-ups and de-identified releases (P10): aggregates of browser data, never
    /// client addresses.
    Statistics,
    /// Telling a person how their request stands (an extended deadline).
    RequestNotice,
    /// Keeping an account's derived fields in step with what the person gave (the
    /// country of their address), as sign-up and their own edits do.
    AccountUpkeep,
}

/// The door's keeper: holds the vault's only grant issuer.
pub(crate) struct Door {
    issuer: GrantIssuer,
}

impl std::fmt::Debug for Door {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Door")
    }
}

/// Why a grant could not be made for a fixed purpose: the policy file gives it no
/// category (a policy that cannot run Datavow's own functions).
fn policy_gap(purpose: Purpose) -> Denied {
    denied(
        "purpose_without_categories",
        format!("the policy gives purpose `{purpose}` no data category"),
    )
}

impl Door {
    pub(crate) fn new(issuer: GrantIssuer) -> Door {
        Door { issuer }
    }

    /// A grant for an operator's act, if the role allows it.
    pub(crate) fn operator(
        &self,
        policy: &Policy,
        operator: &Operator,
        act: OperatorAct,
    ) -> Result<Grant, Denied> {
        let purpose = decide(policy, operator.role, act)?;
        self.issuer
            .grant(operator.actor(), purpose)
            .map_err(|_| policy_gap(purpose))
    }

    /// A grant for a signed-in person acting on themself: their right of access,
    /// rectification and erasure (`requests`), which covers all they hold.
    pub(crate) fn own(&self, person: PersonId) -> Result<Grant, Denied> {
        self.issuer
            .own(person, Purpose::Requests)
            .map_err(|_| policy_gap(Purpose::Requests))
    }

    /// [`Door::own`] for a person's own view in a session whose own reads are already
    /// on record today: its allowed reads are not audited again.
    pub(crate) fn own_recorded_today(&self, person: PersonId) -> Result<Grant, Denied> {
        self.issuer
            .own_recorded_today(person, Purpose::Requests)
            .map_err(|_| policy_gap(Purpose::Requests))
    }

    /// A grant for a visitor's act.
    pub(crate) fn visitor(&self, act: VisitorAct) -> Result<Grant, Denied> {
        let purpose = match act {
            VisitorAct::SignUp => Purpose::AccountManagement,
            VisitorAct::SignIn | VisitorAct::Recovery => Purpose::Service,
            VisitorAct::Contact => Purpose::Leads,
        };
        self.issuer
            .grant(Actor::Visitor, purpose)
            .map_err(|_| policy_gap(purpose))
    }

    /// A grant for Datavow's own work, acting as `actor`.
    pub(crate) fn system(&self, actor: Actor, act: SystemAct) -> Result<Grant, Denied> {
        let purpose = match act {
            SystemAct::Ingest => Purpose::Security,
            SystemAct::PrivacyTool
            | SystemAct::Suppress
            | SystemAct::Mail
            | SystemAct::Unsubscribe
            | SystemAct::RequestNotice => Purpose::Requests,
            SystemAct::Marketing => Purpose::Marketing,
            SystemAct::PolicyNotice => Purpose::Service,
            SystemAct::Statistics => Purpose::Statistics,
            SystemAct::AccountUpkeep => Purpose::AccountManagement,
        };
        self.issuer
            .grant(actor, purpose)
            .map_err(|_| policy_gap(purpose))
    }

    /// A grant for any purpose, for tests that drive the vault directly.
    #[cfg(feature = "testkit")]
    pub(crate) fn for_tests(&self, purpose: Purpose) -> Grant {
        self.issuer
            .grant(Actor::System("test".into()), purpose)
            .expect("the purpose has categories")
    }

    /// The right to destroy keys, for retention and erasure.
    pub(crate) fn custody(&self, actor: Actor) -> Custody {
        self.issuer.custody(actor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::bundled().expect("bundled policy")
    }

    #[test]
    fn a_collector_may_post_events_and_do_nothing_else() {
        let policy = policy();
        for act in OperatorAct::all() {
            let decision = decide(&policy, Role::Collector, act);
            assert_eq!(
                decision.is_ok(),
                act == OperatorAct::PostEvents,
                "{act:?}: {decision:?}"
            );
        }
    }

    #[test]
    fn only_privacy_officers_read_access_logs() {
        let policy = policy();
        for role in Role::ALL {
            assert_eq!(
                decide(&policy, *role, OperatorAct::ReadAccessLog).is_ok(),
                *role == Role::PrivacyOfficer,
                "{role}"
            );
        }
    }

    #[test]
    fn marketing_may_search_by_email_but_not_by_user_id() {
        let policy = policy();
        assert_eq!(
            decide(&policy, Role::Marketing, OperatorAct::SearchByEmail),
            Ok(Purpose::Marketing)
        );
        assert!(decide(&policy, Role::Marketing, OperatorAct::SearchByUserId).is_err());
    }
}
