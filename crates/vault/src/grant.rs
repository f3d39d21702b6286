//! Grants: the vault's only way in (P3, P11).
//!
//! Every read and write of a personal field takes a [`Grant`]: who acts, for which
//! purpose, and the categories the policy lets that purpose use. A grant is made only
//! by the [`GrantIssuer`] that [`crate::Vault::open`] hands out once, so whoever holds
//! the issuer (in Datavow, `datavow_core::access`) is the one place that decides who
//! may do what; no other code can name a purpose to the vault on its own.
//!
//! Invariants:
//! - A grant's categories are exactly those [`datavow_policy::Policy::grant`] allows its
//!   purpose; the vault still checks each field against them on every read and write.
//! - A grant made for a person acting on themself opens that person only.
//! - A grant caches the one data key it opened, so a request fetches and unwraps a
//!   person's key once however many reads it makes; the key is wiped with the grant.
//! - [`Custody`] is the separate right to destroy keys (erasure, retention); it reads
//!   nothing.
//! - Every read is audited, except the allowed reads of a grant made by
//!   [`GrantIssuer::own_recorded_today`]: a person's own views in a session whose own
//!   reads are on record for the day already. Refusals are always audited.

use crate::audit::{Actor, SubjectTag};
use crate::cipher::SymmetricKey;
use datavow_policy::{Category, Policy, Purpose, PurposeRefused};
use datavow_store::PersonId;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Who a grant acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acting {
    /// Named actor (operator, system, visitor).
    As(Actor),
    /// The person themself: the grant opens only this person, and the audit actor is
    /// their own subject tag.
    SelfOf(PersonId),
}

/// Permission to use personal data of the given categories for one purpose, on
/// behalf of one actor. See the module documentation.
pub struct Grant {
    pub(crate) acting: Acting,
    purpose: Purpose,
    categories: BTreeSet<Category>,
    /// The one data key this grant has opened, and whose it is.
    pub(crate) opened: OnceLock<(PersonId, SymmetricKey)>,
    /// Whether each allowed read is audited (see the module documentation).
    pub(crate) audits_reads: bool,
}

impl fmt::Debug for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Grant")
            .field("acting", &self.acting)
            .field("purpose", &self.purpose)
            .field("categories", &self.categories)
            .field("key_opened", &self.opened.get().is_some())
            .field("audits_reads", &self.audits_reads)
            .finish()
    }
}

impl Grant {
    /// The purpose this grant is for.
    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// Whether this grant's allowed reads are audited (all but a person's own views
    /// already on record today; see the module documentation).
    pub fn audits_reads(&self) -> bool {
        self.audits_reads
    }

    /// Whether the grant covers `category`.
    pub fn covers(&self, category: Category) -> bool {
        self.categories.contains(&category)
    }

    /// The categories this grant covers.
    pub fn categories(&self) -> impl Iterator<Item = Category> + '_ {
        self.categories.iter().copied()
    }

    /// The actor for the audit log; for a person acting on themself, their tag (known
    /// once their key is open).
    pub(crate) fn actor(&self, own_tag: Option<&SubjectTag>) -> Actor {
        match (&self.acting, own_tag) {
            (Acting::As(actor), _) => actor.clone(),
            (Acting::SelfOf(_), Some(tag)) => Actor::Person(tag.clone()),
            (Acting::SelfOf(_), None) => Actor::System("self-service".into()),
        }
    }
}

/// The right to destroy keys (erasure, retention). Reads nothing.
#[derive(Debug)]
pub struct Custody {
    pub(crate) actor: Actor,
}

/// Makes grants. [`crate::Vault::open`] returns exactly one; it cannot be cloned.
pub struct GrantIssuer {
    policy: Arc<Policy>,
}

impl fmt::Debug for GrantIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GrantIssuer")
    }
}

impl GrantIssuer {
    pub(crate) fn new(policy: Arc<Policy>) -> GrantIssuer {
        GrantIssuer { policy }
    }

    fn allowed(&self, purpose: Purpose) -> BTreeSet<Category> {
        Category::ALL
            .iter()
            .copied()
            .filter(|c| self.policy.grant(purpose, *c).is_ok())
            .collect()
    }

    /// A grant for `actor` to use what the policy allows `purpose`. Refused when the
    /// purpose may use no category at all.
    pub fn grant(&self, actor: Actor, purpose: Purpose) -> Result<Grant, PurposeRefused> {
        self.make(Acting::As(actor), purpose)
    }

    /// A grant for a person acting on themself, for `purpose`.
    pub fn own(&self, person: PersonId, purpose: Purpose) -> Result<Grant, PurposeRefused> {
        self.make(Acting::SelfOf(person), purpose)
    }

    /// [`GrantIssuer::own`] for a person's own view whose reads in this session are
    /// already on record for the day: its allowed reads add no audit entry (a person's
    /// own page views need not each be a row; the first of the day is one).
    pub fn own_recorded_today(
        &self,
        person: PersonId,
        purpose: Purpose,
    ) -> Result<Grant, PurposeRefused> {
        let mut grant = self.make(Acting::SelfOf(person), purpose)?;
        grant.audits_reads = false;
        Ok(grant)
    }

    fn make(&self, acting: Acting, purpose: Purpose) -> Result<Grant, PurposeRefused> {
        let categories = self.allowed(purpose);
        if categories.is_empty() {
            return Err(PurposeRefused {
                purpose,
                category: Category::ALL[0],
            });
        }
        Ok(Grant {
            acting,
            purpose,
            categories,
            opened: OnceLock::new(),
            audits_reads: true,
        })
    }

    /// The right to destroy keys, for `actor`.
    pub fn custody(&self, actor: Actor) -> Custody {
        Custody { actor }
    }
}
