use super::*;

fn bundled() -> Policy {
    Policy::bundled().unwrap_or_else(|e| panic!("bundled policy is invalid:\n{e}"))
}

fn broken(from: &str, to: &str) -> PolicyErrors {
    assert!(
        BUNDLED_POLICY_TOML.contains(from),
        "fixture text {from:?} not found"
    );
    let text = BUNDLED_POLICY_TOML.replacen(from, to, 1);
    Policy::from_toml(&text, "broken.toml").expect_err("broken policy must be refused")
}

fn line_of(needle: &str) -> usize {
    let offset = BUNDLED_POLICY_TOML.find(needle).expect("needle present");
    BUNDLED_POLICY_TOML[..offset].matches('\n').count() + 1
}

#[test]
fn bundled_asergo_policy_is_valid() {
    let policy = bundled();
    assert_eq!(policy.effective_date.to_string(), "2018-05-18");
    assert_eq!(policy.privacy_contact, "privacy@asergo.com");
}

#[test]
fn bundled_policy_names_the_three_asergo_entities_with_addresses() {
    let policy = bundled();
    let names: Vec<&str> = policy.entities().map(|e| e.name.as_str()).collect();
    for name in [
        "ASERGO Europe GmbH",
        "ASERGO Scandinavia ApS",
        "ASERGO Hardware ApS",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let de = policy.entity_for_country(CountryCode::parse("de"));
    assert_eq!(de.name, "ASERGO Europe GmbH");
    assert!(de.address.iter().any(|l| l.contains("Witzlebenstrasse 6")));
    assert_eq!(
        policy.entity_for_country(CountryCode::parse("DK")).name,
        "ASERGO Scandinavia ApS"
    );
}

#[test]
fn billing_may_read_the_postal_address_and_payment_reference_but_not_the_marketing_interest() {
    let policy = bundled();
    assert!(policy
        .grant_field(Purpose::Billing, Field::PostalAddress)
        .is_ok());
    assert!(policy
        .grant_field(Purpose::Billing, Field::PaymentReference)
        .is_ok());
    let refused = policy
        .grant_field(Purpose::Billing, Field::Interest)
        .expect_err("billing must not see the marketing interest");
    assert_eq!(refused.category, Category::BusinessProfile);
}

#[test]
fn marketing_may_never_read_browser_data_or_credentials() {
    let policy = bundled();
    for field in [
        Field::ClientIp,
        Field::UserId,
        Field::PasswordHash,
        Field::BirthDate,
    ] {
        assert!(
            policy.grant_field(Purpose::Marketing, field).is_err(),
            "{field}"
        );
    }
    assert!(policy.purpose(Purpose::Marketing).requires_consent);
}

#[test]
fn a_deny_wins_over_an_allow() {
    let text = BUNDLED_POLICY_TOML.replacen(
        "categories = [\"identity\", \"contact\", \"business_profile\", \"account_segment\", \"marketing_consent\"]\ndeny = [",
        "categories = [\"identity\", \"contact\", \"business_profile\", \"account_segment\", \"marketing_consent\"]\ndeny = [\"business_profile\", ",
        1,
    );
    assert_ne!(text, BUNDLED_POLICY_TOML);
    let policy = Policy::from_toml(&text, "t.toml").expect("still valid");
    assert!(policy
        .grant(Purpose::Marketing, Category::BusinessProfile)
        .is_err());
    assert!(policy.grant(Purpose::Marketing, Category::Identity).is_ok());
}

#[test]
fn every_field_has_exactly_one_category() {
    let policy = bundled();
    for field in Field::ALL {
        let category = policy.category_of(*field);
        assert!(policy.fields_of(category).contains(field), "{field}");
    }
}

#[test]
fn billing_records_are_kept_8_years_in_germany_and_5_in_denmark_from_end_of_year() {
    let policy = bundled();
    let rule = policy.retention(Category::BillingRecords);
    let de = rule.for_country(CountryCode::parse("DE"));
    let dk = rule.for_country(CountryCode::parse("DK"));
    assert_eq!(de.keep, Keep::For("8 years".parse().expect("period")));
    assert_eq!(dk.keep, Keep::For("5 years".parse().expect("period")));
    assert_eq!(dk.from, Some(Anchor::EndOfYear));
    assert!(de
        .legal_ground
        .as_deref()
        .unwrap_or("")
        .contains("AO § 147"));
    assert!(dk
        .legal_ground
        .as_deref()
        .unwrap_or("")
        .contains("bogføringsloven"));
}

#[test]
fn browser_data_and_backups_are_kept_6_months() {
    let policy = bundled();
    let six_months: Period = "6 months".parse().expect("period");
    assert_eq!(
        policy.retention(Category::BrowserData).keep,
        Keep::For(six_months)
    );
    assert_eq!(policy.backup_retention, six_months);
    assert_eq!(policy.request_deadline, "1 month".parse().expect("period"));
    assert_eq!(
        policy.request_extension,
        "2 months".parse().expect("period")
    );
}

#[test]
fn age_of_consent_is_16_in_germany_13_in_denmark_and_16_elsewhere() {
    let policy = bundled();
    assert_eq!(policy.age_of_consent(CountryCode::parse("DE")), 16);
    assert_eq!(policy.age_of_consent(CountryCode::parse("DK")), 13);
    assert_eq!(policy.age_of_consent(CountryCode::parse("FR")), 16);
    assert_eq!(policy.age_of_consent(None), 16);
}

#[test]
fn roles_map_to_purposes_and_billing_operators_cannot_read_for_marketing() {
    let policy = bundled();
    assert!(policy.role_allows(Role::Billing, Purpose::Billing));
    assert!(!policy.role_allows(Role::Billing, Purpose::Marketing));
    assert!(policy.role_allows(Role::PrivacyOfficer, Purpose::Requests));
}

#[test]
fn unknown_purpose_name_is_reported_with_its_line_and_key() {
    let err = broken(
        "categories = [\"browser_data\", \"account_segment\"]\naggregate_only",
        "categories = [\"browser_data\", \"account_segment\"]\nagregate_only",
    );
    let issue = &err.issues[0];
    assert_eq!(issue.line, Some(line_of("aggregate_only = true")));
    assert!(err.to_string().starts_with("broken.toml:"), "{err}");
    assert!(issue.key.contains("purposes.statistics"), "{issue:?}");
}

#[test]
fn a_field_in_two_categories_is_reported_at_its_second_place() {
    let err = broken(
        "fields = [\"email\", \"phone\"]",
        "fields = [\"email\", \"phone\", \"name\"]",
    );
    let issue = &err.issues[0];
    assert_eq!(issue.line, Some(line_of("fields = [\"email\", \"phone\"]")));
    assert_eq!(issue.key, "categories.contact.fields");
    assert!(issue.message.contains("`name`"), "{}", issue.message);
}

#[test]
fn a_bad_period_is_reported_with_line_and_key() {
    let err = broken("deadline = \"1 month\"", "deadline = \"one month\"");
    let issue = &err.issues[0];
    assert_eq!(issue.line, Some(line_of("deadline = \"1 month\"")));
    assert_eq!(issue.key, "requests.deadline");
    assert!(issue.message.contains("not a period"), "{}", issue.message);
}

#[test]
fn an_age_of_consent_outside_gdpr_range_is_refused() {
    let err = broken("DK = 13", "DK = 12");
    assert_eq!(err.issues[0].key, "children.age_of_consent.DK");
    assert_eq!(err.issues[0].line, Some(line_of("DK = 13")));
}

#[test]
fn an_unknown_entity_reference_is_refused() {
    let err = broken("DK = \"asergo_scandinavia\"", "DK = \"asergo_denmark\"");
    assert_eq!(err.issues[0].key, "entity_by_country.DK");
    assert!(err.issues[0].message.contains("asergo_denmark"));
}

#[test]
fn a_missing_retention_rule_is_refused() {
    let err = broken(
        "[retention.age]\nkeep = \"while_account_open\"\nclass = \"account\"\n",
        "",
    );
    assert!(err.issues.iter().any(|i| i.key == "retention.age"), "{err}");
}

#[test]
fn a_fixed_period_without_a_start_is_refused() {
    let err = broken(
        "keep = \"6 months\"\nfrom = \"collection\"",
        "keep = \"6 months\"",
    );
    assert_eq!(err.issues[0].key, "retention.browser_data.from");
}

#[test]
fn a_syntax_error_names_its_line() {
    let err = broken("[requests]", "[requests");
    assert_eq!(err.issues[0].line, Some(line_of("[requests]")));
}

#[test]
fn load_reports_a_missing_file_by_path() {
    let err = Policy::load(Path::new("/nonexistent/policy.toml")).expect_err("missing");
    assert!(err.to_string().contains("/nonexistent/policy.toml"));
}

#[test]
fn everything_kept_while_the_account_is_open_is_one_class() {
    let err = broken(
        "[retention.age]\nkeep = \"while_account_open\"\nclass = \"account\"",
        "[retention.age]\nkeep = \"while_account_open\"\nclass = \"birthdays\"",
    );
    assert!(
        err.issues
            .iter()
            .any(|i| i.message.contains("must be one class")),
        "{err}"
    );
}

#[test]
fn invoices_are_a_class_of_their_own_that_survives_erasure_on_a_legal_ground() {
    let policy = Policy::bundled().expect("bundled");
    let rule = policy.retention(Category::BillingRecords);
    assert_eq!(rule.class, "invoices");
    assert!(rule.legal_ground.is_some());
    assert_eq!(
        rule.for_country(Some(CountryCode::parse("DK").expect("DK")))
            .class,
        "invoices",
        "a country changes the period, not the class"
    );
    assert_eq!(
        policy.class_categories("invoices"),
        vec![Category::BillingRecords]
    );
    assert_eq!(policy.retention(Category::Contact).class, "account");
}

#[test]
fn bundled_policy_carries_its_english_text_and_short_controller_name() {
    let policy = bundled();
    assert_eq!(policy.controller, "ASERGO");
    let text = policy.text("en").expect("an English text");
    assert!(text.starts_with("# Privacy Policy"), "{}", &text[..40]);
    assert!(text.contains("Witzlebenstrasse 6"));
    assert_eq!(policy.text("de"), None);
}

#[test]
fn every_entity_has_a_privacy_contact_falling_back_to_the_policy_one() {
    let policy = bundled();
    assert!(policy
        .entities()
        .all(|e| e.privacy_contact == "privacy@asergo.com"));
    let own = broken(
        "country = \"DE\"\n",
        "country = \"DE\"\nprivacy_contact = \"nope\"\n",
    );
    assert!(
        own.to_string()
            .contains("entities.asergo_europe.privacy_contact: must be an email address"),
        "{own}"
    );
}

#[test]
fn a_recipient_outside_the_eea_without_a_safeguard_is_refused() {
    let err = broken(
        "purposes = [\"billing\"]\ncategories = [\"identity\", \"contact\", \"payment_reference\"]\ncountry = \"IE\"",
        "purposes = [\"billing\"]\ncategories = [\"identity\", \"contact\", \"payment_reference\"]\ncountry = \"US\"",
    );
    assert!(
        err.to_string()
            .contains("recipients.payment_processor.country: US is outside the EEA"),
        "{err}"
    );
}

#[test]
fn a_recipient_may_only_receive_categories_its_purposes_may_use() {
    let err = broken(
        "purposes = [\"billing\"]\ncategories = [\"identity\", \"contact\", \"payment_reference\"]",
        "purposes = [\"billing\"]\ncategories = [\"identity\", \"browser_data\"]",
    );
    assert!(
        err.to_string().contains(
            "recipients.payment_processor.categories: none of this recipient's purposes may use `browser_data` data"
        ),
        "{err}"
    );
}

#[test]
fn a_policy_text_in_a_language_the_pages_do_not_speak_is_refused() {
    let err = broken(
        "en = \"asergo-privacy-policy.md\"",
        "fr = \"asergo-privacy-policy.md\"",
    );
    assert!(
        err.to_string()
            .contains("policy.texts.fr: a policy text is written in one of en, de, da"),
        "{err}"
    );
}

#[test]
fn the_brightwater_example_is_valid_with_one_entity_and_its_own_retention() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy/examples/brightwater.toml");
    let policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.controller, "Brightwater Studio");
    assert_eq!(policy.entities().count(), 1);
    let entity = policy.entity_for_country(CountryCode::parse("DE"));
    assert_eq!(entity.privacy_contact, "dpo@brightwater.example");
    assert_eq!(
        policy.retention(Category::BrowserData).keep,
        Keep::For("30 days".parse().expect("period"))
    );
    assert_eq!(policy.backup_retention.to_string(), "35 days");
    assert!(policy.text("en").is_some_and(|t| t.contains("Galway")));
    let everything = format!(
        "{}{:?}{:?}",
        policy.text("en").unwrap_or_default(),
        policy.entities().collect::<Vec<_>>(),
        policy.recipients()
    );
    assert!(!everything.to_lowercase().contains("asergo"));
}

#[test]
fn a_missing_policy_text_file_is_reported_with_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, BUNDLED_POLICY_TOML).expect("write");
    let err = Policy::load(&path).expect_err("the text file is missing");
    assert!(
        err.to_string().contains("asergo-privacy-policy.md"),
        "{err}"
    );
}

#[test]
fn a_legal_basis_that_cites_no_article_6_basis_is_refused() {
    let err = broken(
        "legal_basis = \"GDPR Art. 6(1)(b): performance of a contract\"",
        "legal_basis = \"because we can\"",
    );
    assert!(
        err.to_string()
            .contains("purposes.service.legal_basis: must cite its lawful basis"),
        "{err}"
    );
    let policy = bundled();
    assert_eq!(
        policy.purpose(Purpose::Marketing).lawful_basis,
        LawfulBasis::Consent
    );
    assert_eq!(
        policy.purpose(Purpose::Security).lawful_basis,
        LawfulBasis::LegitimateInterests
    );
}

#[test]
fn a_purpose_that_lacks_what_the_code_stores_under_it_is_refused() {
    let err = broken(
        "categories = [\"identity\", \"contact\", \"postal_address\", \"business_profile\", \"account_segment\", \"age\", \"credentials\", \"marketing_consent\"]",
        "categories = [\"identity\", \"contact\", \"business_profile\", \"account_segment\", \"age\", \"credentials\", \"marketing_consent\"]",
    );
    assert!(
        err.to_string().contains(
            "purposes.account_management.categories: must include `postal_address`: sign-up stores a new account under it"
        ),
        "{err}"
    );
}

#[test]
fn admins_and_privacy_officers_always_need_a_second_factor_and_the_file_adds_roles() {
    let policy = bundled();
    let sign_in = &policy.operator_sign_in;
    for role in [Role::Admin, Role::PrivacyOfficer, Role::Security] {
        assert!(sign_in.second_factor_required(role), "{role}");
    }
    for role in [
        Role::Support,
        Role::Billing,
        Role::Marketing,
        Role::Collector,
    ] {
        assert!(!sign_in.second_factor_required(role), "{role}");
    }
    assert_eq!(sign_in.idle, std::time::Duration::from_secs(30 * 60));
    assert_eq!(sign_in.lifetime, std::time::Duration::from_secs(12 * 3600));
    let fewer = Policy::from_toml(
        &crate::BUNDLED_POLICY_TOML.replace("second_factor = [\"security\"]", "second_factor = []"),
        "test",
    )
    .expect("valid");
    assert!(
        fewer.operator_sign_in.second_factor_required(Role::Admin),
        "not removable"
    );
    assert!(!fewer
        .operator_sign_in
        .second_factor_required(Role::Security));
}

#[test]
fn console_time_outs_outside_their_range_are_refused() {
    let errors = broken("idle_minutes = 30", "idle_minutes = 0");
    assert!(
        errors.to_string().contains("operators.idle_minutes"),
        "{errors}"
    );
    let errors = broken("session_hours = 12", "session_hours = 100");
    assert!(
        errors.to_string().contains("operators.session_hours"),
        "{errors}"
    );
}
