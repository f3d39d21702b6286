//! The fixed vocabulary that policy files speak: purposes, data categories, the personal
//! fields Datavow stores, operator roles and countries.
//!
//! These are enums, not free strings, because code behaves differently for each of
//! them (a `Purpose::Marketing` read needs consent, `Category::BrowserData` lives in
//! time partitions). A policy file names them in `snake_case`; a name the code does not
//! know is a validation error, never silently ignored.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The `snake_case` name used in policy files, the API and the audit log.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the `snake_case` name; `None` for an unknown name.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// Why personal data is read. Every read of a personal field names one (P11).
    Purpose {
        Service => "service",
        Requests => "requests",
        Billing => "billing",
        AccountManagement => "account_management",
        Marketing => "marketing",
        Statistics => "statistics",
        Security => "security",
        LegalObligation => "legal_obligation",
        Leads => "leads",
    }
}

named_enum! {
    /// A group of personal fields that share purposes and a retention rule.
    Category {
        Identity => "identity",
        Contact => "contact",
        PostalAddress => "postal_address",
        BusinessProfile => "business_profile",
        AccountSegment => "account_segment",
        Age => "age",
        Credentials => "credentials",
        PaymentReference => "payment_reference",
        BillingRecords => "billing_records",
        MarketingConsent => "marketing_consent",
        BrowserData => "browser_data",
        Leads => "leads",
    }
}

named_enum! {
    /// A personal field that Datavow stores, always encrypted by the vault.
    Field {
        Name => "name",
        Company => "company",
        Email => "email",
        Phone => "phone",
        PostalAddress => "postal_address",
        BusinessSector => "business_sector",
        Interest => "interest",
        BirthDate => "birth_date",
        UserId => "user_id",
        PasswordHash => "password_hash",
        PaymentReference => "payment_reference",
        Invoice => "invoice",
        MarketingConsent => "marketing_consent",
        ClientIp => "client_ip",
        UserAgent => "user_agent",
        Referrer => "referrer",
        Path => "path",
        Language => "language",
        Country => "country",
        /// The country of an account's postal address, kept apart from the address so
        /// that statistics count accounts per country without opening an address.
        AccountCountry => "account_country",
        LeadName => "lead_name",
        LeadCompany => "lead_company",
        LeadEmail => "lead_email",
        LeadPhone => "lead_phone",
        LeadMessage => "lead_message",
    }
}

impl Field {
    /// Whether the field only authenticates (the password hash): it is verified
    /// against, and no purpose ever reads it.
    pub fn is_verifier(self) -> bool {
        self == Field::PasswordHash
    }
}

named_enum! {
    /// An operator's role; the policy file maps each role to the purposes it may use.
    Role {
        Support => "support",
        Billing => "billing",
        Marketing => "marketing",
        Security => "security",
        PrivacyOfficer => "privacy_officer",
        Admin => "admin",
        /// A web tier that posts browser events; reads nothing (no purposes).
        Collector => "collector",
    }
}

/// An ISO 3166-1 alpha-2 country code in upper case, such as `DE` or `DK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses two ASCII letters (either case) into an upper-case code.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() == 2 && bytes.iter().all(u8::is_ascii_alphabetic) {
            Some(CountryCode([
                bytes[0].to_ascii_uppercase(),
                bytes[1].to_ascii_uppercase(),
            ]))
        } else {
            None
        }
    }

    /// The code as text, e.g. `"DE"`.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<CountryCode> for String {
    fn from(code: CountryCode) -> String {
        code.as_str().to_owned()
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CountryCode::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not an ISO 3166-1 alpha-2 country code such as DE or DK"
            ))
        })
    }
}
