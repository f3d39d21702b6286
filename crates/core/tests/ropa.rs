//! The record of processing activities (P17): generated from each example policy, and
//! it cannot drift from the code.

use datavow_core::ropa::{self, Ropa, Subject};
use datavow_policy::{Category, Policy, Purpose};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn policies() -> Vec<Policy> {
    vec![
        Policy::bundled().expect("bundled policy"),
        Policy::load(&root().join("policy/examples/brightwater.toml")).expect("brightwater"),
    ]
}

fn record(policy: &Policy) -> Ropa {
    ropa::generate(policy, chrono::Utc::now())
}

/// `Purpose::Service` → `service`.
fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every `Purpose::X` and `Category::X` the workspace's source code names.
fn named_in_code(kind: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![root().join("crates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    dirs.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("read source");
            // Comments describe; code uses.
            let text: String = source
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let needle = format!("{kind}::");
            for (at, _) in text.match_indices(&needle) {
                // `serde_json::error::Category::Data` is another enum of that name.
                if text[..at].ends_with("::") {
                    continue;
                }
                let name: String = text[at + needle.len()..]
                    .chars()
                    .take_while(char::is_ascii_alphanumeric)
                    .collect();
                // Variants start upper-case; `Purpose::ALL`, `Purpose::parse` are not uses.
                if name.starts_with(|c: char| c.is_ascii_uppercase()) && name != "ALL" {
                    found.insert(snake(&name));
                }
            }
        }
    }
    found
}

#[test]
fn every_purpose_and_category_the_code_names_is_declared_by_each_policy_and_in_its_record() {
    let purposes = named_in_code("Purpose");
    let categories = named_in_code("Category");
    assert!(purposes.contains("marketing") && categories.contains("browser_data"));
    for policy in policies() {
        let ropa = record(&policy);
        for entity in &ropa.entities {
            let recorded: BTreeSet<String> = entity
                .activities
                .iter()
                .map(|a| a.purpose.as_str().to_owned())
                .collect();
            let used: BTreeSet<String> = entity
                .activities
                .iter()
                .flat_map(|a| a.categories.iter().map(|c| c.category.as_str().to_owned()))
                .collect();
            for purpose in &purposes {
                let parsed = Purpose::parse(purpose).unwrap_or_else(|| {
                    panic!("the code names purpose `{purpose}` the vocabulary lacks")
                });
                assert!(
                    !policy.purpose(parsed).description.is_empty() && recorded.contains(purpose),
                    "{}: purpose `{purpose}` is used by the code but not in the record of {}",
                    policy.origin,
                    entity.name
                );
            }
            for category in &categories {
                assert!(
                    Category::parse(category).is_some(),
                    "the code names category `{category}` the vocabulary lacks"
                );
                assert!(
                    used.contains(category),
                    "{}: category `{category}` is used by the code but no purpose of the policy may use it, so the record omits it",
                    policy.origin
                );
            }
        }
    }
}

#[test]
fn each_entity_records_retention_as_its_country_keeps_it() {
    let ropa = record(&Policy::bundled().expect("bundled"));
    let billing_period = |entity: &str| {
        let e = ropa
            .entities
            .iter()
            .find(|e| e.id == entity)
            .expect("entity");
        let activity = e
            .activities
            .iter()
            .find(|a| a.purpose == Purpose::LegalObligation)
            .expect("legal obligation");
        let r = activity
            .retention
            .iter()
            .find(|r| r.category == Category::BillingRecords)
            .expect("billing records");
        (r.period.clone(), r.ground.clone())
    };
    let (de, de_ground) = billing_period("asergo_europe");
    let (dk, dk_ground) = billing_period("asergo_scandinavia");
    assert_eq!(de, "8 years from the end of the year it was made");
    assert!(de_ground.contains("AO § 147"), "{de_ground}");
    assert_eq!(dk, "5 years from the end of the year it was made");
    assert!(dk_ground.contains("bogføringsloven"), "{dk_ground}");
    assert_eq!(ropa.entities.len(), 3);
    assert!(ropa.entities.iter().all(|e| e.other_entities.len() == 2));
}

#[test]
fn an_activity_lists_only_what_its_purpose_may_use_and_whom_it_concerns() {
    let ropa = record(&Policy::bundled().expect("bundled"));
    let entity = &ropa.entities[0];
    let marketing = entity
        .activities
        .iter()
        .find(|a| a.purpose == Purpose::Marketing)
        .expect("marketing");
    let used: Vec<Category> = marketing.categories.iter().map(|c| c.category).collect();
    assert!(!used.contains(&Category::BrowserData) && !used.contains(&Category::Age));
    assert!(marketing.requires_consent);
    assert_eq!(marketing.subjects, vec![Subject::Customers]);
    let leads = entity
        .activities
        .iter()
        .find(|a| a.purpose == Purpose::Leads)
        .expect("leads");
    assert_eq!(leads.subjects, vec![Subject::Prospects]);
    let billing = entity
        .activities
        .iter()
        .find(|a| a.purpose == Purpose::Billing)
        .expect("billing");
    assert!(billing
        .recipients
        .iter()
        .any(|r| r.id == "payment_processor"));
    assert!(billing.transfers.is_empty(), "the processor is in the EEA");
    assert!(!entity.security_measures.is_empty());
}

#[test]
fn a_transfer_outside_the_eea_is_recorded_with_its_safeguard() {
    let policy = Policy::load(&root().join("policy/examples/brightwater.toml")).expect("policy");
    let ropa = record(&policy);
    assert_eq!(ropa.entities.len(), 1);
    let marketing = ropa.entities[0]
        .activities
        .iter()
        .find(|a| a.purpose == Purpose::Marketing)
        .expect("marketing");
    assert_eq!(marketing.transfers.len(), 1);
    assert_eq!(marketing.transfers[0].country, "US");
    assert!(marketing.transfers[0]
        .safeguard
        .contains("Data Privacy Framework"));
    let fides = ropa.to_fides();
    assert_eq!(fides["system"][0]["does_international_transfers"], true);
    let text = serde_json::to_string(&fides).expect("json").to_lowercase();
    assert!(!text.contains("asergo"));
}
