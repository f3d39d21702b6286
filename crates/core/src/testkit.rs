//! Opening an instance over fresh test stores, for tests and benches.

use crate::{Datavow, OpenOptions};
use datavow_policy::Policy;
use datavow_store::testkit::TestStores;
use std::path::PathBuf;
use std::sync::Arc;

/// Options for an instance over `t` with the bundled policy; the master key is
/// `master_key_file`, or created in the test's scratch data directory.
pub fn options(t: &TestStores, master_key_file: Option<PathBuf>) -> OpenOptions {
    OpenOptions {
        data_dir: t.scratch_dir().join("data"),
        location: t.location.clone(),
        policy: Arc::new(Policy::bundled().expect("bundled policy")),
        master_key_file,
        mail: None,
    }
}

/// An instance over `t` with the bundled policy, its text published as `serve` does.
pub async fn open(t: &TestStores) -> Datavow {
    let app = Datavow::open(options(t, None)).await.expect("open Datavow");
    app.publish_policy_file_texts()
        .await
        .expect("publish the policy file's text");
    app
}

/// What tests of the door and of storage reach past the edges' API: the stores for raw
/// scans, the vault, and grants as [`crate::access`] would make them.
impl Datavow {
    /// The stores, for raw scans and fault injection.
    pub fn stores(&self) -> &datavow_store::Stores {
        &self.stores
    }

    /// The vault.
    pub fn vault(&self) -> &datavow_vault::Vault {
        &self.vault
    }

    /// A grant for Datavow's own tools (as `datavow audit show` gets), to drive the
    /// vault directly.
    pub fn tool_grant(&self) -> datavow_vault::Grant {
        self.door
            .system(
                crate::Principal::system("test").actor(),
                crate::access::SystemAct::PrivacyTool,
            )
            .expect("the bundled policy covers requests")
    }

    /// A grant for `purpose` acting as `system:test`.
    pub fn grant(&self, purpose: datavow_policy::Purpose) -> datavow_vault::Grant {
        self.door.for_tests(purpose)
    }

    /// The browser records linked to `person`, as their export shows them.
    pub async fn linked_records(
        &self,
        person: datavow_store::PersonId,
    ) -> Result<Vec<crate::browser::LinkedRecord>, datavow_vault::VaultError> {
        let grant = self.grant(datavow_policy::Purpose::Requests);
        crate::browser::linked_records(self, &grant, person).await
    }

    /// Creates an account-like record controlled by `entity` with `values`, as
    /// Datavow's own tool would (values as given, unvalidated).
    pub async fn create_person(
        &self,
        entity: &str,
        values: &[(datavow_policy::Field, &str)],
    ) -> datavow_store::PersonId {
        let values: Vec<(datavow_policy::Field, datavow_vault::Personal)> = values
            .iter()
            .map(|(f, v)| (*f, datavow_vault::Personal::new(*v)))
            .collect();
        self.vault
            .create(
                &self.tool_grant(),
                datavow_store::PersonKind::Account,
                entity,
                &values,
            )
            .await
            .expect("create person")
    }

    /// The grant an operator gets to view persons for `purpose`, as the door makes it.
    pub fn operator_grant(
        &self,
        operator: &crate::operators::Operator,
        purpose: datavow_policy::Purpose,
    ) -> datavow_vault::Grant {
        self.door
            .operator(
                &self.policy,
                operator,
                crate::access::OperatorAct::View(purpose),
            )
            .expect("the role may use the purpose")
    }

    /// Destroys `person`'s account key only (the commit point of an erasure, without
    /// deleting their rows): what an old backup of the data holds afterwards.
    pub async fn destroy_account_key(&self, person: datavow_store::PersonId) -> bool {
        let plan = datavow_vault::ErasurePlan {
            reason: "test".into(),
            account: true,
            ..Default::default()
        };
        !self
            .vault
            .erase_keys(&self.custody(), person, &plan)
            .await
            .expect("erase keys")
            .is_empty()
    }

    /// The right to destroy keys, as retention and erasure hold it.
    pub fn custody(&self) -> datavow_vault::Custody {
        self.door.custody(crate::Principal::system("test").actor())
    }
}
