//! Statistics (P10) on both backends: reports from roll-ups, releases that never show a
//! rare combination, the ε budget, differencing, and the noise's guarantee.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use datavow_core::browser::{BrowserIngest, Format, InputFormat};
use datavow_core::stats::{self, dp, release, By, StatsError};
use datavow_core::{Datavow, Principal};
use datavow_store::backend_tests;
use datavow_store::testkit::TestStores;
use std::sync::Arc;

fn owner() -> Principal {
    Principal::system("test")
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

fn line(visitor: u32, time: DateTime<Utc>, path: &str, referrer: &str) -> String {
    format!(
        "198.51.{}.{} - - [{}] \"GET {path} HTTP/1.1\" 200 512 \"{referrer}\" \"{FIREFOX}\"\n",
        visitor / 250,
        visitor % 250,
        time.format("%d/%b/%Y:%H:%M:%S +0000")
    )
}

/// A day of traffic: 200 visitors on the home page, 60 on /pricing, 25 on /docs, and
/// the planted rare pages, each seen by `rare` visitors.
fn day_log(day: DateTime<Utc>, rare: u32, extra_visitor: Option<u32>) -> String {
    let mut log = String::new();
    for v in 0..200 {
        log.push_str(&line(
            v,
            day + Duration::seconds(i64::from(v)),
            "/",
            "https://search.example/",
        ));
        if v < 60 {
            log.push_str(&line(
                v,
                day + Duration::seconds(i64::from(v) + 300),
                "/pricing",
                "-",
            ));
        }
        if v < 25 {
            log.push_str(&line(
                v,
                day + Duration::seconds(i64::from(v) + 600),
                "/docs",
                "-",
            ));
        }
    }
    for v in 0..rare {
        log.push_str(&line(
            900 + v,
            day + Duration::seconds(900),
            "/account/4711/invoice",
            "-",
        ));
        log.push_str(&line(
            900 + v,
            day + Duration::seconds(901),
            "/u/mette-kjaer",
            "https://private.example/",
        ));
    }
    if let Some(v) = extra_visitor {
        log.push_str(&line(
            v,
            day + Duration::seconds(1200),
            "/only-one-visitor-ever",
            "https://secret-ref.example/x",
        ));
    }
    log
}

async fn ingest(app: &Datavow, log: String) {
    BrowserIngest::new(app, None, None)
        .ingest(
            &owner(),
            Box::new(std::io::Cursor::new(log.into_bytes())),
            InputFormat::named(Format::Combined).expect("format"),
            Arc::default(),
        )
        .await
        .expect("ingest");
}

fn days_ago(n: i64) -> DateTime<Utc> {
    (Utc::now() - Duration::days(n))
        .date_naive()
        .and_hms_opt(8, 0, 0)
        .expect("time")
        .and_utc()
}

fn date(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

async fn release(
    app: &Datavow,
    report: &str,
    from: NaiveDate,
    to: NaiveDate,
    epsilon: Option<&str>,
) -> Result<release::Release, StatsError> {
    release::release(
        app,
        &owner(),
        &release::Request {
            report: report.into(),
            from,
            to,
            k: 10,
            epsilon: epsilon.map(str::to_owned),
        },
    )
    .await
}

async fn planted_rare_pages_and_referrers_never_appear_in_any_release(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    for n in 1..=3 {
        ingest(&app, day_log(days_ago(n), 3, Some(999))).await;
    }
    let (from, to) = (date(days_ago(3)), date(days_ago(1)));
    let table = stats::report(&app, By::Owner(&owner()), "pages", from, to)
        .await
        .expect("report");
    assert!(
        table
            .rows
            .iter()
            .any(|(v, n)| v == "/account/4711/invoice" && n[0] == 9),
        "operators see the rare page in their report: {:?}",
        table.rows
    );
    for epsilon in [None, Some("0.5")] {
        for report in ["pages", "referrers"] {
            let made = release(&app, report, from, to, epsilon)
                .await
                .expect("release");
            let text = format!("{}{}", made.csv(), made.json());
            for planted in [
                "/account/4711",
                "mette-kjaer",
                "only-one-visitor",
                "private.example",
                "secret-ref",
                "198.51.",
            ] {
                assert!(
                    !text.contains(planted),
                    "{report} {epsilon:?} released {planted}: {text}"
                );
            }
            assert!(made.cells.iter().all(|(_, n)| *n >= 10), "{:?}", made.cells);
        }
        let pages = release(&app, "pages", from, to, epsilon)
            .await
            .expect("release");
        assert!(
            pages.cells.iter().any(|(v, _)| v == "/"),
            "common pages are released"
        );
    }
    // The releases are recorded with their manifests.
    let recorded = app.stores().stats.releases().await.expect("releases");
    assert!(recorded.len() >= 6);
    assert!(recorded
        .iter()
        .all(|r| r.manifest.contains("cells_suppressed")));
}

async fn a_release_past_the_budget_is_refused_and_spends_nothing(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    ingest(&app, day_log(days_ago(2), 0, None)).await;
    ingest(&app, day_log(days_ago(1), 0, None)).await;
    let (d2, d1) = (date(days_ago(2)), date(days_ago(1)));
    // The policy allows ε = 2 per day of data.
    release(&app, "countries", d2, d2, Some("1.5"))
        .await
        .expect("first");
    let refused = release(&app, "visits", d2, d1, Some("0.75")).await;
    assert!(
        matches!(refused, Err(StatsError::BudgetExceeded(_))),
        "{refused:?}"
    );
    let spent = |day: NaiveDate| {
        let app = &app;
        async move {
            app.stores()
                .stats
                .budget_spent("browser", &day.to_string())
                .await
                .expect("spent")
        }
    };
    assert_eq!(spent(d2).await, 1_500_000);
    assert_eq!(
        spent(d1).await,
        0,
        "a refused release spends nothing on any day"
    );
    release(&app, "visits", d1, d1, Some("2"))
        .await
        .expect("another day has its own budget");
    release(&app, "visits", d2, d2, Some("0.5"))
        .await
        .expect("the rest of the first day's");
    assert!(matches!(
        release(&app, "pages", d2, d2, Some("0.000001")).await,
        Err(StatsError::BudgetExceeded(_))
    ));
    // k-anonymous releases spend no ε; a k under the policy's minimum is refused.
    release(&app, "visits", d2, d1, None)
        .await
        .expect("k-anonymity alone");
    let small_k = release::release(
        &app,
        &owner(),
        &release::Request {
            report: "visits".into(),
            from: d2,
            to: d1,
            k: 3,
            epsilon: None,
        },
    )
    .await;
    assert!(matches!(small_k, Err(StatsError::KTooSmall(10))));
    for bad in ["0", "-1", "abc", "1e9"] {
        assert!(
            matches!(
                release(&app, "visits", d1, d1, Some(bad)).await,
                Err(StatsError::BadEpsilon)
            ),
            "{bad}"
        );
    }
}

async fn two_k_anonymous_releases_differing_by_one_rare_visitor_reveal_nothing_of_them(
    t: TestStores,
) {
    let without = datavow_core::testkit::open(&t).await;
    let day = days_ago(1);
    ingest(&without, day_log(day, 0, None)).await;
    let t2 = TestStores::sqlite().await;
    let with = datavow_core::testkit::open(&t2).await;
    ingest(&with, day_log(day, 0, Some(4242))).await;
    for report in [
        "pages",
        "referrers",
        "visits",
        "countries",
        "browsers",
        "devices",
    ] {
        let a = release(&without, report, date(day), date(day), None)
            .await
            .expect("a");
        let b = release(&with, report, date(day), date(day), None)
            .await
            .expect("b");
        let strip = |r: &release::Release| r.cells.clone();
        if report == "visits" {
            // The day's visitor count holds everyone: 200 against 201, which tells that
            // somebody visited, not which page or referrer they came by.
            assert_eq!(a.cells[0].1 + 1, b.cells[0].1);
            continue;
        }
        let (ca, cb) = (strip(&a), strip(&b));
        for (value, n) in &cb {
            assert!(
                !value.contains("only-one-visitor") && !value.contains("secret-ref"),
                "{report}: {value}"
            );
            if let Some((_, m)) = ca.iter().find(|(v, _)| v == value) {
                assert!(n.abs_diff(*m) <= 1, "{report} {value}: {m} → {n}");
            }
        }
    }
}

async fn a_report_reads_the_stored_roll_up_and_a_dropped_day_takes_its_roll_up_with_it(
    t: TestStores,
) {
    let app = datavow_core::testkit::open(&t).await;
    let day = days_ago(1);
    ingest(&app, day_log(day, 3, None)).await;
    let first = stats::report(&app, By::Owner(&owner()), "visits", date(day), date(day))
        .await
        .expect("report");
    assert_eq!(
        first.rows,
        vec![(date(day).to_string(), vec![200 + 60 + 25 + 6, 203])]
    );
    assert_eq!(
        stats::roll_up_past_days(&app).await.expect("job"),
        0,
        "already rolled up"
    );
    let stored = app
        .stores()
        .stats
        .rollups(date(day), date(day))
        .await
        .expect("rollups");
    assert_eq!(stored.len(), 1);
    // The report comes from the roll-up: with the day's blocks made unreadable, it
    // still answers (and a fresh computation would fail).
    let table = match t.stores.backend {
        datavow_store::Backend::Sqlite => format!("browser_blocks_{}", date(day).format("%Y%m%d")),
        datavow_store::Backend::Postgres => "browser_blocks".to_owned(),
    };
    let saved = format!("saved_{table}");
    t.raw_execute(&format!("CREATE TABLE {saved} AS SELECT * FROM {table}"))
        .await
        .expect("save");
    t.raw_execute(&format!("UPDATE {table} SET meta = ips"))
        .await
        .expect("garble the blocks");
    let again = stats::report(&app, By::Owner(&owner()), "pages", date(day), date(day))
        .await
        .expect("report");
    assert_eq!(again.rows[0], ("/".to_owned(), vec![200, 200]));
    t.raw_execute(&format!("DELETE FROM {table}"))
        .await
        .expect("clear");
    t.raw_execute(&format!("INSERT INTO {table} SELECT * FROM {saved}"))
        .await
        .expect("restore");
    // More records for the day: the roll-up is computed again.
    ingest(&app, day_log(day, 0, Some(555))).await;
    let grown = stats::report(&app, By::Owner(&owner()), "visits", date(day), date(day))
        .await
        .expect("report");
    assert_eq!(grown.rows[0].1[1], 204, "{:?}", grown.rows);
    // Retention drops the day and its roll-up.
    datavow_core::browser::apply_retention(&app, Utc::now() + Duration::days(400))
        .await
        .expect("retention");
    assert!(app
        .stores()
        .stats
        .rollups(date(day), date(day))
        .await
        .expect("rollups")
        .is_empty());
    let empty = stats::report(&app, By::Owner(&owner()), "visits", date(day), date(day))
        .await
        .expect("report");
    assert!(empty.rows.is_empty());
}

async fn only_roles_with_the_statistics_purpose_see_reports(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    ingest(&app, day_log(days_ago(1), 0, None)).await;
    let d = date(days_ago(1));
    for (role, may) in [
        (datavow_policy::Role::Admin, true),
        (datavow_policy::Role::Marketing, true),
        (datavow_policy::Role::Support, false),
        (datavow_policy::Role::Billing, false),
        (datavow_policy::Role::Collector, false),
    ] {
        let op = datavow_core::operators::Operator::for_tests("x", role);
        let got = stats::report(&app, By::Operator(&op), "countries", d, d).await;
        assert_eq!(got.is_ok(), may, "{role}: {got:?}");
    }
    assert!(matches!(
        stats::report(&app, By::Owner(&owner()), "ips", d, d).await,
        Err(StatsError::UnknownReport(_))
    ));
    assert!(matches!(
        stats::report(
            &app,
            By::Owner(&owner()),
            "visits",
            d,
            d - Duration::days(1)
        )
        .await,
        Err(StatsError::BadPeriod)
    ));
}

/// `n` accounts of `entity`, with a sector and a country where given, stored as
/// Datavow's own tool would (as sign-up stores them, without the sign-up's hashing).
async fn accounts_of(
    app: &Datavow,
    n: usize,
    entity: &str,
    sector: Option<&str>,
    country: Option<&str>,
) -> Vec<datavow_store::PersonId> {
    use datavow_policy::Field;
    let mut values = vec![(Field::Name, "A. Customer")];
    values.extend(sector.map(|s| (Field::BusinessSector, s)));
    values.extend(country.map(|c| (Field::AccountCountry, c)));
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(app.create_person(entity, &values).await);
    }
    ids
}

fn address(country: &str, postal_code: &str) -> datavow_core::accounts::validate::PostalAddress {
    datavow_core::accounts::validate::PostalAddress {
        street: "Hauptstraße 1".into(),
        postal_code: postal_code.into(),
        city: "Somewhere".into(),
        country: country.into(),
    }
}

fn cells(table: &stats::Table) -> Vec<(String, u64)> {
    table.rows.iter().map(|(v, n)| (v.clone(), n[0])).collect()
}

async fn accounts_are_counted_per_entity_sector_and_country_and_the_erased_drop_out(t: TestStores) {
    use datavow_core::accounts::{self, SignUpInput};
    let app = datavow_core::testkit::open(&t).await;
    // Signed up as a customer would: the country comes from the postal address.
    let mut signed_up = Vec::new();
    for (country, code, sector, email) in [
        ("DE", "10115", "software", "a@example.de"),
        ("DK", "2970", "hosting_and_cloud", "b@example.dk"),
    ] {
        let account = accounts::sign_up(
            &app,
            &SignUpInput {
                name: Some("Counted Customer".into()),
                email: Some(email.into()),
                postal_address: Some(address(country, code)),
                business_sector: Some(sector.into()),
                ..SignUpInput::default()
            },
        )
        .await
        .expect("sign up");
        signed_up.push(account.person);
    }
    accounts_of(&app, 2, "asergo_europe", Some("software"), Some("DE")).await;
    accounts_of(&app, 1, "asergo_scandinavia", None, None).await;
    let d = date(days_ago(0));
    let table = stats::report(&app, By::Owner(&owner()), "accounts", d, d)
        .await
        .expect("report");
    let expected = |de: u64| {
        vec![
            ("entity:asergo_europe".to_owned(), de),
            ("entity:asergo_scandinavia".to_owned(), 2),
            ("sector:software".to_owned(), de),
            ("sector:hosting_and_cloud".to_owned(), 1),
            ("sector:unknown".to_owned(), 1),
            ("country:DE".to_owned(), de),
            ("country:DK".to_owned(), 1),
            ("country:unknown".to_owned(), 1),
        ]
    };
    assert_eq!(cells(&table), expected(3));
    assert!(table.csv().contains("country:DE,3\r\n"), "{}", table.csv());

    datavow_core::erasure::erase(
        &app,
        signed_up[0],
        datavow_core::erasure::Reason::Request,
        &owner(),
    )
    .await
    .expect("erase");
    let table = stats::report(&app, By::Owner(&owner()), "accounts", d, d)
        .await
        .expect("report");
    assert_eq!(
        cells(&table),
        expected(2),
        "the erased account is not counted"
    );
    // An erasure cut short after its commit point (key gone, rows not yet, until the
    // next start finishes it): its sector and country are no longer counted.
    assert!(app.destroy_account_key(signed_up[1]).await);
    let table = stats::report(&app, By::Owner(&owner()), "accounts", d, d)
        .await
        .expect("report");
    let left: Vec<String> = cells(&table).into_iter().map(|(c, _)| c).collect();
    assert!(
        !left.contains(&"sector:hosting_and_cloud".to_owned())
            && !left.contains(&"country:DK".to_owned()),
        "{left:?}"
    );

    // Statistics count countries from the account's own field, never from an address.
    let err = app
        .vault()
        .tally_accounts(
            &app.grant(datavow_policy::Purpose::Statistics),
            &[datavow_policy::Field::PostalAddress],
        )
        .await
        .expect_err("the statistics purpose may not use addresses");
    assert!(
        matches!(err, datavow_vault::VaultError::Refused(_)),
        "{err:?}"
    );
}

async fn an_accounts_release_never_shows_a_rare_sector_or_country(t: TestStores) {
    let app = datavow_core::testkit::open(&t).await;
    accounts_of(&app, 12, "asergo_europe", Some("software"), Some("DE")).await;
    accounts_of(
        &app,
        11,
        "asergo_scandinavia",
        Some("hosting_and_cloud"),
        Some("DK"),
    )
    .await;
    accounts_of(&app, 1, "asergo_scandinavia", Some("health"), Some("IS")).await;
    accounts_of(&app, 1, "asergo_scandinavia", Some("finance"), Some("FR")).await;
    let d = date(days_ago(0));
    let k_release = release(&app, "accounts", d, d, None)
        .await
        .expect("release");
    // Per dimension: the two single accounts are suppressed, and since they sum to
    // under k, the next smallest cell goes with them.
    assert_eq!(
        k_release.cells,
        vec![
            ("entity:asergo_scandinavia".to_owned(), 13),
            ("entity:asergo_europe".to_owned(), 12),
            ("sector:software".to_owned(), 12),
            ("country:DE".to_owned(), 12),
        ]
    );
    assert_eq!(k_release.unit, "persons");
    let dp_release = release(&app, "accounts", d, d, Some("1"))
        .await
        .expect("release");
    assert_eq!(
        dp_release.manifest["sensitivity"], 3,
        "one cell per dimension"
    );
    for r in [&k_release, &dp_release] {
        let text = format!("{}{}", r.csv(), r.json());
        for rare in ["health", "finance", "IS", "FR"] {
            assert!(!text.contains(rare), "{rare} released: {text}");
        }
    }
}

async fn accounts_stored_before_the_country_field_get_it_from_their_address(t: TestStores) {
    use datavow_policy::Field;
    let app = datavow_core::testkit::open(&t).await;
    let address =
        r#"{"street":"Agern Allé 24","postal_code":"2970","city":"Hørsholm","country":"DK"}"#;
    for _ in 0..2 {
        // As an account was stored before `account_country` existed.
        app.create_person(
            "asergo_scandinavia",
            &[
                (Field::Name, "Old Account"),
                (Field::PostalAddress, address),
            ],
        )
        .await;
    }
    accounts_of(&app, 1, "asergo_scandinavia", None, None).await;
    let d = date(days_ago(0));
    let countries = |table: stats::Table| -> Vec<(String, u64)> {
        cells(&table)
            .into_iter()
            .filter(|(c, _)| c.starts_with("country:"))
            .collect()
    };
    let before = stats::report(&app, By::Owner(&owner()), "accounts", d, d)
        .await
        .expect("report");
    assert_eq!(countries(before), vec![("country:unknown".to_owned(), 3)]);
    assert_eq!(
        datavow_core::accounts::fill_account_countries(&app)
            .await
            .expect("fill"),
        2
    );
    let after = stats::report(&app, By::Owner(&owner()), "accounts", d, d)
        .await
        .expect("report");
    assert_eq!(
        countries(after),
        vec![
            ("country:DK".to_owned(), 2),
            ("country:unknown".to_owned(), 1)
        ]
    );
    assert_eq!(
        datavow_core::accounts::fill_account_countries(&app)
            .await
            .expect("fill"),
        0,
        "nothing left to fill"
    );
}

backend_tests!(
    planted_rare_pages_and_referrers_never_appear_in_any_release,
    a_release_past_the_budget_is_refused_and_spends_nothing,
    two_k_anonymous_releases_differing_by_one_rare_visitor_reveal_nothing_of_them,
    a_report_reads_the_stored_roll_up_and_a_dropped_day_takes_its_roll_up_with_it,
    only_roles_with_the_statistics_purpose_see_reports,
    accounts_are_counted_per_entity_sector_and_country_and_the_erased_drop_out,
    an_accounts_release_never_shows_a_rare_sector_or_country,
    accounts_stored_before_the_country_field_get_it_from_their_address,
);

/// The mechanism on two neighbouring counts (one unit more): every output's
/// probability under one is within e^ε of the other (empirically, over 200,000 draws
/// each, on outputs seen at least 1,000 times).
#[test]
fn noisy_counts_of_neighbouring_data_are_within_e_to_the_epsilon() {
    let mut rng = rand::rngs::OsRng;
    let eps = dp::Epsilon::parse("0.5").expect("epsilon");
    let draws = 200_000;
    let histogram = |base: i64, rng: &mut rand::rngs::OsRng| {
        let mut h = std::collections::HashMap::new();
        for _ in 0..draws {
            *h.entry(base + dp::noise(rng, 1, eps)).or_insert(0u64) += 1;
        }
        h
    };
    let a = histogram(100, &mut rng);
    let b = histogram(101, &mut rng);
    let bound = (0.5f64).exp() * 1.12;
    let mut compared = 0;
    for (x, na) in &a {
        let Some(nb) = b.get(x) else { continue };
        if *na < 1000 || *nb < 1000 {
            continue;
        }
        let ratio = *na as f64 / *nb as f64;
        assert!(
            ratio <= bound && 1.0 / ratio <= bound,
            "output {x}: {na} vs {nb}"
        );
        compared += 1;
    }
    assert!(compared >= 8, "{compared} outputs compared");
}

/// The discrete Laplace sampler against OpenDP's (PyPI `opendp`), when the test Python
/// has it (`scripts/test.sh` installs it): a two-sample chi-square over −12..12.
#[test]
fn the_discrete_laplace_sampler_matches_opendps() {
    let Ok(python) = std::env::var("DATAVOW_TEST_OPENDP_PYTHON") else {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: set DATAVOW_TEST_OPENDP_PYTHON (scripts/test.sh installs opendp)");
        }
        return;
    };
    let n = 20_000;
    let script = format!(
        "import opendp.prelude as dp\n\
         dp.enable_features('contrib')\n\
         m = dp.m.make_laplace(dp.atom_domain(T=int), dp.absolute_distance(T=int), scale=2.0)\n\
         print(' '.join(str(m(0)) for _ in range({n})))\n"
    );
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .output()
        .expect("python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs: Vec<i64> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(|x| x.parse().expect("integer"))
        .collect();
    assert_eq!(theirs.len(), n);
    let mut rng = rand::rngs::OsRng;
    // Scale 2 = sensitivity 1 / ε 0.5.
    let ours: Vec<i64> = (0..n)
        .map(|_| dp::noise(&mut rng, 1, dp::Epsilon::parse("0.5").expect("eps")))
        .collect();
    let bin = |x: i64| x.clamp(-12, 12);
    let mut counts = std::collections::BTreeMap::new();
    for x in &ours {
        counts.entry(bin(*x)).or_insert((0f64, 0f64)).0 += 1.0;
    }
    for x in &theirs {
        counts.entry(bin(*x)).or_insert((0f64, 0f64)).1 += 1.0;
    }
    let chi2: f64 = counts
        .values()
        .filter(|(a, b)| a + b > 0.0)
        .map(|(a, b)| (a - b).powi(2) / (a + b))
        .sum();
    // 25 bins, 24 degrees of freedom: the 99.9th percentile is 51.2.
    assert!(
        chi2 < 51.2,
        "chi-square {chi2} over {} bins: {counts:?}",
        counts.len()
    );
}
