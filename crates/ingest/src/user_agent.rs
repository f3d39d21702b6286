//! User agents → browser family and version, OS/platform and device class (P6), with
//! the `uaparser` crate and uap-core's `regexes.yaml` (Debian package `uap-core`).
//! Results are cached: real logs repeat a few thousand user agents millions of times.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use uaparser::{Parser, UserAgentParser};

/// Where Debian's `uap-core` puts the regexes.
pub const DEBIAN_REGEXES: &str = "/usr/share/uap-core/regexes.yaml";

/// What is kept of a user agent (and stored, once per block, by ingest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Browser {
    pub family: String,
    pub major: Option<String>,
    pub os: String,
    pub os_major: Option<String>,
    pub device: DeviceClass,
}

/// A coarse class of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceClass {
    Desktop,
    Mobile,
    Tablet,
    Bot,
    Other,
}

impl Browser {
    /// What is kept when no parser is configured or the agent is absent.
    pub fn unknown() -> Browser {
        Browser {
            family: "Other".into(),
            major: None,
            os: "Other".into(),
            os_major: None,
            device: DeviceClass::Other,
        }
    }
}

const CACHE_LIMIT: usize = 50_000;

/// A user-agent parser with a bounded cache.
pub struct UaParser {
    parser: UserAgentParser,
    cache: Mutex<HashMap<String, Browser>>,
}

impl std::fmt::Debug for UaParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UaParser")
    }
}

impl UaParser {
    /// Loads uap-core's `regexes.yaml`.
    pub fn from_regexes(path: &Path) -> Result<UaParser, String> {
        // uap-core's regexes are ASCII patterns; without Unicode classes the compiled
        // automata are several times smaller (uap-core's reference parsers are ASCII too).
        let parser = UserAgentParser::builder()
            .with_unicode_support(false)
            // The device regexes are the largest and slowest set; the device class is
            // read from the agent, the OS and a few words instead (see `device_class`).
            .with_device(false)
            .build_from_yaml(&path.to_string_lossy())
            .map_err(|e| {
                format!(
                "cannot load user-agent regexes from {} ({e}); install Debian's uap-core package",
                path.display()
            )
            })?;
        Ok(UaParser {
            parser,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The browser, OS and device class of a user agent.
    pub fn parse(&self, user_agent: &str) -> Browser {
        if let Some(hit) = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(user_agent).cloned())
        {
            return hit;
        }
        let ua = self.parser.parse_user_agent(user_agent);
        let os = self.parser.parse_os(user_agent);
        let os_family = os.family.to_string();
        let class = device_class(user_agent, &ua.family, &os_family);
        let browser = Browser {
            family: ua.family.to_string(),
            major: ua.major.map(|m| m.to_string()),
            os: os_family,
            os_major: os.major.map(|m| m.to_string()),
            device: class,
        };
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(user_agent.to_owned(), browser.clone());
        }
        browser
    }
}

/// The class of device, from the agent string, its browser family and its OS. Crawlers
/// name themselves (`bot`, `crawler`, `spider`, …); tablets say `iPad`, `Tablet` or are
/// Android without `Mobile` (the convention Android browsers follow); phones run a
/// mobile OS; desktops a desktop OS.
fn device_class(user_agent: &str, family: &str, os: &str) -> DeviceClass {
    let agent = user_agent.to_ascii_lowercase();
    let family = family.to_ascii_lowercase();
    let has = |word: &str| agent.contains(word);
    if [
        "bot",
        "crawl",
        "spider",
        "slurp",
        "archiver",
        "facebookexternalhit",
    ]
    .iter()
    .any(|w| has(w) || family.contains(w))
    {
        DeviceClass::Bot
    } else if has("ipad") || has("tablet") || has("kindle") || (os == "Android" && !has("mobile")) {
        DeviceClass::Tablet
    } else if matches!(
        os,
        "iOS"
            | "Android"
            | "Windows Phone"
            | "BlackBerry OS"
            | "Symbian OS"
            | "KaiOS"
            | "Firefox OS"
    ) {
        DeviceClass::Mobile
    } else if matches!(
        os,
        "Windows" | "Mac OS X" | "Linux" | "Ubuntu" | "Chrome OS" | "Fedora" | "FreeBSD" | "Debian"
    ) {
        DeviceClass::Desktop
    } else {
        DeviceClass::Other
    }
}
