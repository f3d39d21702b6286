//! Client address → country, through an MMDB country database read with `maxminddb`
//! (ip-location-db's CC0 databases, or GeoIP2/GeoLite2 Country).

use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;

/// An IP-to-country database in MMDB format.
pub struct GeoDb(maxminddb::Reader<Vec<u8>>);

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GeoDb({})", self.0.metadata.database_type)
    }
}

#[derive(Deserialize)]
struct CountryRecord<'a> {
    /// ip-location-db's databases.
    country_code: Option<&'a str>,
    /// GeoIP2/GeoLite2 Country databases.
    country: Option<GeoIp2Country<'a>>,
}

#[derive(Deserialize)]
struct GeoIp2Country<'a> {
    iso_code: Option<&'a str>,
}

impl GeoDb {
    /// Reads an MMDB file.
    pub fn open(path: &Path) -> Result<GeoDb, String> {
        maxminddb::Reader::open_readfile(path)
            .map(GeoDb)
            .map_err(|e| {
                format!(
                    "cannot read the geolocation database {}: {e}",
                    path.display()
                )
            })
    }

    /// The ISO country code of `ip`, if the database knows it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let record: CountryRecord<'_> = self.0.lookup(ip).ok().flatten()?;
        record
            .country_code
            .or(record.country.and_then(|c| c.iso_code))
            .filter(|c| c.len() == 2)
            .map(str::to_ascii_uppercase)
    }
}
