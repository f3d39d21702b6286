//! Encrypt + decrypt of a 10-field person record: the vault's cipher alone, and the
//! whole vault write + read path on SQLite. Run: `cargo bench -p datavow-vault`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datavow_policy::{Field, Policy, Purpose};
use datavow_store::testkit::TestStores;
use datavow_vault::{Actor, MasterKey, Personal, RecordingSink, SymmetricKey, Vault};
use std::hint::black_box;
use std::sync::Arc;

fn actor() -> Actor {
    Actor::System("bench".into())
}

fn record() -> Vec<(Field, Personal)> {
    vec![
        (Field::Name, "Søren Ægidius Østergård".into()),
        (Field::Company, "Østergård Hosting ApS".into()),
        (Field::Email, "soren@ostergaard-hosting.dk".into()),
        (Field::Phone, "+4531234567".into()),
        (
            Field::PostalAddress,
            "Agern Allé 24, 2970 Hørsholm, DK".into(),
        ),
        (Field::BusinessSector, "hosting_and_cloud".into()),
        (
            Field::Interest,
            "Colocation in Copenhagen, 4 racks, 2x10G uplinks".into(),
        ),
        (Field::BirthDate, "1981-04-17".into()),
        (Field::UserId, "K7Q2M9XP".into()),
        (Field::PaymentReference, "cus_Q2x9LmT7".into()),
    ]
}

fn cipher_only(c: &mut Criterion) {
    let key = SymmetricKey::generate();
    let person = uuid::Uuid::new_v4();
    let fields = record();
    let mut group = c.benchmark_group("vault_record");
    group.throughput(Throughput::Elements(1));
    group.bench_function("seal_and_open_10_fields", |b| {
        b.iter(|| {
            for (field, value) in &fields {
                let sealed = key.seal_field(person, *field, value.expose().as_bytes());
                let opened = key.open_field(person, *field, &sealed).expect("opens");
                black_box(opened);
            }
        })
    });
    group.finish();
}

fn vault_on_sqlite(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (t, vault) = runtime.block_on(async {
        let t = TestStores::sqlite().await;
        let policy = Arc::new(Policy::bundled().expect("policy"));
        let (vault, issuer) = Vault::open(
            &t.stores,
            MasterKey::generate(),
            policy,
            Arc::new(RecordingSink::default()),
        )
        .await
        .expect("vault");
        (t, (vault, issuer))
    });
    let (vault, issuer) = vault;
    let grant = || issuer.grant(actor(), Purpose::Requests).expect("grant");
    let person = runtime
        .block_on(vault.create(
            &grant(),
            datavow_store::PersonKind::Account,
            "asergo_europe",
            &record(),
        ))
        .expect("create");
    let fields: Vec<Field> = Field::ALL
        .iter()
        .copied()
        .filter(|f| !f.is_verifier())
        .collect();
    let mut group = c.benchmark_group("vault_record");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sqlite_read_10_fields", |b| {
        b.iter(|| {
            let read = runtime
                // A grant per read, as a request makes one: the key is fetched each time.
                .block_on(vault.read(&grant(), person, &fields))
                .expect("read");
            black_box(read);
        })
    });
    group.finish();
    drop(t);
}

criterion_group!(benches, cipher_only, vault_on_sqlite);
criterion_main!(benches);
