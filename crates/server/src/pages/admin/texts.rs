//! Every text of the console: key, then English, German, Danish.

use crate::pages::i18n::Lang;

/// The text of `key` in `lang` (the key itself if it is missing, which a test forbids).
pub(crate) fn t(lang: Lang, key: &'static str) -> &'static str {
    let index = match lang {
        Lang::En => 0,
        Lang::De => 1,
        Lang::Da => 2,
    };
    TEXTS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, texts)| texts[index])
}

pub(crate) static TEXTS: &[(&str, [&str; 3])] = &[
    ("console", ["Operator console", "Bedienkonsole", "Operatørkonsol"]),
    ("navigation", ["Console navigation", "Navigation der Konsole", "Konsolnavigation"]),
    ("language", ["Language", "Sprache", "Sprog"]),
    ("nav_home", ["Today", "Heute", "I dag"]),
    ("nav_search", ["Find a person", "Person suchen", "Find en person"]),
    ("nav_requests", ["Requests", "Anfragen", "Anmodninger"]),
    ("nav_access_log", ["Access log", "Zugriffsprotokoll", "Adgangslog"]),
    ("nav_marketing", ["Marketing", "Marketing", "Markedsføring"]),
    ("nav_stats", ["Statistics", "Statistik", "Statistik"]),
    ("report", ["Report", "Bericht", "Rapport"]),
    ("from", ["From", "Von", "Fra"]),
    ("to", ["To", "Bis", "Til"]),
    ("show", ["Show", "Anzeigen", "Vis"]),
    ("day", ["Day", "Tag", "Dag"]),
    ("value", ["Value", "Wert", "Værdi"]),
    ("col_visitors", ["Visitors (visitor-days)", "Besucher (Besuchertage)", "Besøgende (besøgsdage)"]),
    ("col_visits", ["Visits (requests)", "Aufrufe (Anfragen)", "Besøg (forespørgsler)"]),
    ("col_accounts", ["Accounts", "Konten", "Konti"]),
    ("report_visits", ["Visits and unique visitors per day", "Aufrufe und Besucher pro Tag", "Besøg og unikke besøgende pr. dag"]),
    ("report_pages", ["Top pages", "Meistbesuchte Seiten", "Mest besøgte sider"]),
    ("report_countries", ["Countries", "Länder", "Lande"]),
    ("report_browsers", ["Browsers", "Browser", "Browsere"]),
    ("report_platforms", ["Platforms", "Plattformen", "Platforme"]),
    ("report_devices", ["Device classes", "Geräteklassen", "Enhedstyper"]),
    ("report_referrers", ["Referring domains", "Verweisende Domains", "Henvisende domæner"]),
    ("report_languages", ["Languages", "Sprachen", "Sprog"]),
    ("report_accounts", ["Accounts per entity, sector and country", "Konten je Verantwortlichem, Branche und Land", "Konti pr. dataansvarlig, branche og land"]),
    ("dim_entity", ["Controlling entity", "Verantwortlicher", "Dataansvarlig"]),
    ("dim_sector", ["Business sector", "Branche", "Branche"]),
    ("dim_country", ["Country", "Land", "Land"]),
    ("accounts_intro", [
        "Open accounts as they stand now (the period does not apply), counted without reading a name, email or address; \"unknown\" counts accounts that gave no sector or address.",
        "Offene Konten nach heutigem Stand (der Zeitraum gilt hier nicht), gezählt ohne einen Namen, eine E-Mail-Adresse oder Anschrift zu lesen; „unknown“ zählt Konten ohne Branche oder Anschrift.",
        "Åbne konti, som de står nu (perioden gælder ikke her), talt uden at læse navn, e-mail eller adresse; \"unknown\" tæller konti uden branche eller adresse.",
    ]),
    ("stats_intro", [
        "Counted from pseudonymised browser data only: a visitor counts once a day, addresses are never read.",
        "Nur aus pseudonymisierten Browserdaten gezählt: Ein Besucher zählt einmal am Tag, Adressen werden nie gelesen.",
        "Kun talt fra pseudonymiserede browserdata: en besøgende tæller én gang om dagen, adresser læses aldrig.",
    ]),
    ("stats_empty", [
        "No data in this period. Days appear here once access logs are ingested.",
        "Keine Daten in diesem Zeitraum. Tage erscheinen hier, sobald Zugriffsprotokolle importiert sind.",
        "Ingen data i perioden. Dage vises her, når adgangslogs er indlæst.",
    ]),
    ("download_csv", ["Download as CSV", "Als CSV herunterladen", "Hent som CSV"]),
    ("nav_account", ["My sign-in", "Meine Anmeldung", "Mit login"]),
    ("sign_in", ["Sign in", "Anmelden", "Log ind"]),
    ("sign_out", ["Sign out", "Abmelden", "Log ud"]),
    ("signed_out", ["You are signed out.", "Sie sind abgemeldet.", "Du er logget ud."]),
    ("signed_in_as", ["Signed in as", "Angemeldet als", "Logget ind som"]),
    ("operator_name", ["Operator name", "Name des Bedieners", "Operatørnavn"]),
    ("password", ["Password", "Passwort", "Adgangskode"]),
    ("signin_help", [
        "Sign in with the name and password you were given. API tokens are for machines and do not work here.",
        "Melden Sie sich mit dem Namen und Passwort an, die Sie erhalten haben. API-Tokens sind für Maschinen und gelten hier nicht.",
        "Log ind med det navn og den adgangskode, du har fået. API-tokens er til maskiner og virker ikke her.",
    ]),
    ("bad_credentials", ["The name or password is wrong.", "Name oder Passwort ist falsch.", "Navn eller adgangskode er forkert."]),
    ("machine_account", [
        "This is a machine account (collector): it posts with its API token and has no console.",
        "Dies ist ein Maschinenkonto (Collector): Es sendet mit seinem API-Token und hat keine Konsole.",
        "Dette er en maskinkonto (collector): Den sender med sit API-token og har ingen konsol.",
    ]),
    ("bad_code", ["The code is wrong, expired or already used.", "Der Code ist falsch, abgelaufen oder schon benutzt.", "Koden er forkert, udløbet eller allerede brugt."]),
    ("too_many", [
        "Too many failed attempts; try again in {minutes} minutes.",
        "Zu viele Fehlversuche; versuchen Sie es in {minutes} Minuten erneut.",
        "For mange mislykkede forsøg; prøv igen om {minutes} minutter.",
    ]),
    ("form_expired", ["The form expired; please try again.", "Das Formular ist abgelaufen; bitte erneut versuchen.", "Formularen er udløbet; prøv igen."]),
    ("second_factor", ["Second factor", "Zweiter Faktor", "Anden faktor"]),
    ("code_label", [
        "Code from your authenticator app, or a recovery code",
        "Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode",
        "Kode fra din godkendelsesapp eller en gendannelseskode",
    ]),
    ("code_help", [
        "Lost your device? Use one of your recovery codes, or ask an administrator to run `datavow operator reset-2fa`.",
        "Gerät verloren? Nutzen Sie einen Wiederherstellungscode oder bitten Sie einen Administrator, `datavow operator reset-2fa` auszuführen.",
        "Mistet din enhed? Brug en gendannelseskode, eller bed en administrator køre `datavow operator reset-2fa`.",
    ]),
    ("continue", ["Continue", "Weiter", "Fortsæt"]),
    ("enrol_title", ["Set up your authenticator", "Authenticator einrichten", "Opsæt din godkendelsesapp"]),
    ("enrol_intro", [
        "Your role signs in with a second factor. Scan this code with an authenticator app (TOTP), or type the secret below into it. It is shown this once.",
        "Ihre Rolle meldet sich mit einem zweiten Faktor an. Scannen Sie diesen Code mit einer Authenticator-App (TOTP) oder geben Sie das Geheimnis unten ein. Es wird nur dieses eine Mal angezeigt.",
        "Din rolle logger ind med en anden faktor. Scan koden med en godkendelsesapp (TOTP), eller indtast hemmeligheden nedenfor. Den vises kun denne ene gang.",
    ]),
    ("qr_label", ["QR code for your authenticator app", "QR-Code für Ihre Authenticator-App", "QR-kode til din godkendelsesapp"]),
    ("enrol_secret", ["Secret:", "Geheimnis:", "Hemmelighed:"]),
    ("enrol_code", ["The code your app shows now", "Der Code, den Ihre App jetzt zeigt", "Koden din app viser nu"]),
    ("enrol_confirm", ["Confirm and sign in", "Bestätigen und anmelden", "Bekræft og log ind"]),
    ("enrolled", ["Your authenticator is set up.", "Ihr Authenticator ist eingerichtet.", "Din godkendelsesapp er sat op."]),
    ("recovery_title", ["Your recovery codes", "Ihre Wiederherstellungscodes", "Dine gendannelseskoder"]),
    ("recovery_intro", [
        "Keep these codes somewhere safe, away from your device. Each signs you in once if you lose your device. They are shown this once.",
        "Bewahren Sie diese Codes sicher und getrennt vom Gerät auf. Jeder meldet Sie einmal an, falls Sie Ihr Gerät verlieren. Sie werden nur dieses eine Mal angezeigt.",
        "Opbevar koderne et sikkert sted, adskilt fra din enhed. Hver kode logger dig ind én gang, hvis du mister enheden. De vises kun denne ene gang.",
    ]),
    ("factor_enrolled", ["An authenticator app is set up for your sign-in.", "Für Ihre Anmeldung ist eine Authenticator-App eingerichtet.", "Der er sat en godkendelsesapp op til dit login."]),
    ("recovery_left", ["Recovery codes left", "Verbleibende Wiederherstellungscodes", "Tilbageværende gendannelseskoder"]),
    ("factor_reset_help", [
        "A new device: an administrator runs `datavow operator reset-2fa NAME`, then you set it up at your next sign-in.",
        "Neues Gerät: Ein Administrator führt `datavow operator reset-2fa NAME` aus, dann richten Sie es bei der nächsten Anmeldung ein.",
        "Ny enhed: En administrator kører `datavow operator reset-2fa NAVN`, og du sætter den op ved næste login.",
    ]),
    ("factor_required", ["Your role must use a second factor.", "Ihre Rolle muss einen zweiten Faktor verwenden.", "Din rolle skal bruge en anden faktor."]),
    ("factor_optional", [
        "A second factor is optional for your role, and recommended.",
        "Ein zweiter Faktor ist für Ihre Rolle freiwillig und empfohlen.",
        "En anden faktor er valgfri for din rolle, men anbefales.",
    ]),
    ("home_title", ["Today", "Heute", "I dag"]),
    ("home_nothing", [
        "Your role has nothing to follow up here; the navigation above shows what you can do.",
        "Für Ihre Rolle gibt es hier nichts nachzuverfolgen; die Navigation oben zeigt, was Sie tun können.",
        "Din rolle har intet at følge op på her; navigationen ovenfor viser, hvad du kan gøre.",
    ]),
    ("requests_title", ["Data-subject requests", "Anfragen betroffener Personen", "Anmodninger fra registrerede"]),
    ("requests_empty", [
        "No request is due within 7 days or overdue. Requests registered here or filed in the dashboard appear with their deadlines.",
        "Keine Anfrage ist in den nächsten 7 Tagen fällig oder überfällig. Hier erfasste oder im Kundenbereich gestellte Anfragen erscheinen mit ihren Fristen.",
        "Ingen anmodning forfalder inden for 7 dage eller er overskredet. Anmodninger registreret her eller i selvbetjeningen vises med deres frister.",
    ]),
    ("overdue", ["Overdue", "Überfällig", "Overskredet"]),
    ("due_soon", ["Due within 7 days", "In 7 Tagen fällig", "Forfalder inden for 7 dage"]),
    ("open_requests", ["Open requests", "Offene Anfragen", "Åbne anmodninger"]),
    ("request", ["Request", "Anfrage", "Anmodning"]),
    ("kind", ["Kind", "Art", "Type"]),
    ("received", ["Received", "Eingegangen", "Modtaget"]),
    ("received_on", ["Received on (empty: today)", "Eingegangen am (leer: heute)", "Modtaget den (tom: i dag)"]),
    ("due", ["Due", "Fällig", "Frist"]),
    ("status", ["Status", "Status", "Status"]),
    ("channel", ["Arrived by", "Eingegangen per", "Modtaget via"]),
    ("register_request", ["Register a request", "Anfrage erfassen", "Registrér en anmodning"]),
    ("registered", ["Registered request", "Anfrage erfasst", "Anmodning registreret"]),
    ("extend", ["Extend the deadline", "Frist verlängern", "Forlæng fristen"]),
    ("extend_months", ["By months (two in all at most)", "Um Monate (höchstens zwei insgesamt)", "Med måneder (højst to i alt)"]),
    ("extend_reason", [
        "Reason, told to the person (no personal data)",
        "Grund, der Person mitgeteilt (keine personenbezogenen Daten)",
        "Grund, som personen får at vide (ingen personoplysninger)",
    ]),
    ("extended", ["Extended request", "Anfrage verlängert", "Anmodning forlænget"]),
    ("person_told", ["the person is told by mail", "die Person wird per E-Mail informiert", "personen får besked pr. e-mail"]),
    ("person_not_told", [
        "no mail could be queued: tell the person yourself",
        "keine E-Mail möglich: informieren Sie die Person selbst",
        "ingen e-mail kunne sendes: giv selv personen besked",
    ]),
    ("actions", ["Actions", "Aktionen", "Handlinger"]),
    ("consent_intro", [
        "Record a marketing choice the person told you by phone or letter; it takes effect at once.",
        "Eine Werbe-Entscheidung erfassen, die die Person telefonisch oder per Brief mitgeteilt hat; sie gilt sofort.",
        "Registrér et valg om markedsføring, som personen har givet pr. telefon eller brev; det gælder straks.",
    ]),
    ("consent_no", ["No marketing", "Keine Werbung", "Ingen markedsføring"]),
    ("consent_yes", ["Marketing welcome", "Werbung erwünscht", "Markedsføring ønskes"]),
    ("consent_record", ["Record the choice", "Entscheidung erfassen", "Registrér valget"]),
    ("consent_recorded", ["The choice is recorded.", "Die Entscheidung ist erfasst.", "Valget er registreret."]),
    ("child_intro", [
        "A child whose data came without parental consent (GDPR Art. 8): flagging erases the account at once, keeping nothing, not even invoices.",
        "Ein Kind, dessen Daten ohne Zustimmung der Eltern erhoben wurden (Art. 8 DSGVO): Die Markierung löscht das Konto sofort und behält nichts, auch keine Rechnungen.",
        "Et barn, hvis data er indsamlet uden forældresamtykke (GDPR art. 8): markeringen sletter kontoen straks og beholder intet, heller ikke fakturaer.",
    ]),
    ("child_confirm", ["I confirm: erase now", "Ich bestätige: jetzt löschen", "Jeg bekræfter: slet nu"]),
    ("child_flag", ["Flag as a child and erase", "Als Kind markieren und löschen", "Markér som barn og slet"]),
    ("child_unconfirmed", ["Tick the confirmation first; nothing was erased.", "Erst bestätigen; es wurde nichts gelöscht.", "Bekræft først; intet er slettet."]),
    ("child_erased", ["Erased, nothing kept, at", "Gelöscht, nichts behalten, am", "Slettet, intet beholdt, den"]),
    ("erased_categories", ["Erased", "Gelöscht", "Slettet"]),
    ("mark_done", ["Mark done", "Als erledigt markieren", "Markér som udført"]),
    ("no_request", ["No such request.", "Keine solche Anfrage.", "Ingen sådan anmodning."]),
    ("bad_date", ["Give the date as YYYY-MM-DD.", "Geben Sie das Datum als JJJJ-MM-TT an.", "Angiv datoen som ÅÅÅÅ-MM-DD."]),
    ("person_requests_empty", ["This person has made no request.", "Diese Person hat keine Anfrage gestellt.", "Personen har ikke fremsat nogen anmodning."]),
    ("holds_title", ["Holds and cases", "Sperren und Fälle", "Tilbageholdelser og sager"]),
    ("holds_empty", [
        "Legal holds and re-identification cases will be listed here with their expiry once they are recorded; none is recorded.",
        "Rechtliche Sperren und Re-Identifizierungsfälle erscheinen hier mit ihrem Ablauf, sobald sie erfasst sind; keine ist erfasst.",
        "Retlige tilbageholdelser og genidentifikationssager vises her med udløb, når de registreres; ingen er registreret.",
    ]),
    ("audit_title", ["Audit chain", "Audit-Kette", "Revisionskæde"]),
    ("audit_empty", [
        "The audit chain has not been verified yet. `datavow audit verify` records its result here.",
        "Die Audit-Kette wurde noch nicht geprüft. `datavow audit verify` trägt sein Ergebnis hier ein.",
        "Revisionskæden er ikke verificeret endnu. `datavow audit verify` registrerer resultatet her.",
    ]),
    ("backups_title", ["Backups", "Sicherungen", "Sikkerhedskopier"]),
    ("backups_empty", [
        "No backup has been recorded. The last backup and its verification will appear here.",
        "Es ist keine Sicherung verzeichnet. Die letzte Sicherung und ihre Prüfung erscheinen hier.",
        "Der er ikke registreret nogen sikkerhedskopi. Den seneste kopi og dens verifikation vises her.",
    ]),
    ("ingest_title", ["Browser-data ingest", "Import der Browserdaten", "Indlæsning af browserdata"]),
    ("ingest_empty", [
        "Nothing ingested yet. Each source (file, standard input, collector) appears here with its last run.",
        "Noch nichts importiert. Jede Quelle (Datei, Standardeingabe, Collector) erscheint hier mit ihrem letzten Lauf.",
        "Intet indlæst endnu. Hver kilde (fil, standard-input, collector) vises her med sin seneste kørsel.",
    ]),
    ("source", ["Source", "Quelle", "Kilde"]),
    ("last_run", ["Last run", "Letzter Lauf", "Seneste kørsel"]),
    ("result", ["Result", "Ergebnis", "Resultat"]),
    ("run_ok", ["OK", "OK", "OK"]),
    ("run_failed", ["Failed", "Fehlgeschlagen", "Fejlede"]),
    ("mail_title", ["Mail", "E-Mail", "E-mail"]),
    ("mail_empty", [
        "No mail has failed. Messages that could not be delivered after every retry appear here.",
        "Keine E-Mail ist fehlgeschlagen. Nachrichten, die nach allen Versuchen nicht zugestellt wurden, erscheinen hier.",
        "Ingen e-mail er fejlet. Beskeder, der ikke kunne leveres efter alle forsøg, vises her.",
    ]),
    ("mail_failed", ["Messages not delivered after every retry", "Nach allen Versuchen nicht zugestellte Nachrichten", "Beskeder ikke leveret efter alle forsøg"]),
    ("operators_title", ["Operators' sign-in", "Anmeldung der Bediener", "Operatørers login"]),
    ("operators_empty", [
        "Every operator whose role requires a second factor has one. Operators who still must set one up appear here.",
        "Alle Bediener, deren Rolle einen zweiten Faktor verlangt, haben einen. Wer noch einen einrichten muss, erscheint hier.",
        "Alle operatører, hvis rolle kræver en anden faktor, har en. Operatører, der mangler at opsætte en, vises her.",
    ]),
    ("operators_missing", [
        "These operators must set up a second factor at their next sign-in:",
        "Diese Bediener müssen bei der nächsten Anmeldung einen zweiten Faktor einrichten:",
        "Disse operatører skal opsætte en anden faktor ved næste login:",
    ]),
    ("email", ["Email address", "E-Mail-Adresse", "E-mailadresse"]),
    ("or_user_id", ["or userID", "oder Benutzerkennung", "eller bruger-id"]),
    ("purpose_label", ["Purpose of this look-up", "Zweck dieser Abfrage", "Formål med opslaget"]),
    ("purpose", ["Purpose", "Zweck", "Formål"]),
    ("find", ["Find and view", "Suchen und anzeigen", "Find og vis"]),
    ("choose_purpose", ["Choose a purpose.", "Wählen Sie einen Zweck.", "Vælg et formål."]),
    ("one_key", ["Give exactly one of email address or userID.", "Geben Sie genau eines an: E-Mail-Adresse oder Benutzerkennung.", "Angiv præcis én af e-mailadresse eller bruger-id."]),
    ("nobody", ["Nobody matches.", "Niemand passt.", "Ingen matcher."]),
    ("erased", ["This person's data has been erased.", "Die Daten dieser Person wurden gelöscht.", "Personens data er slettet."]),
    ("person", ["Person", "Person", "Person"]),
    ("withheld", ["Withheld for this purpose", "Für diesen Zweck zurückgehalten", "Tilbageholdt for dette formål"]),
    ("withheld_none", ["Nothing is withheld for this purpose.", "Für diesen Zweck wird nichts zurückgehalten.", "Intet tilbageholdes for dette formål."]),
    ("access_log_title", ["Who accessed this person's data", "Wer auf die Daten dieser Person zugegriffen hat", "Hvem har tilgået personens data"]),
    ("access_log_intro", [
        "Find a person to see who read or changed their data, when, and for which purpose. The look-up itself is logged.",
        "Suchen Sie eine Person, um zu sehen, wer ihre Daten wann und zu welchem Zweck gelesen oder geändert hat. Die Abfrage selbst wird protokolliert.",
        "Find en person for at se, hvem der har læst eller ændret deres data, hvornår og til hvilket formål. Selve opslaget logges.",
    ]),
    ("access_log_empty", ["No access is recorded.", "Kein Zugriff verzeichnet.", "Ingen adgang registreret."]),
    ("when", ["When", "Wann", "Hvornår"]),
    ("who", ["Who", "Wer", "Hvem"]),
    ("action", ["Action", "Aktion", "Handling"]),
    ("fields", ["Fields", "Felder", "Felter"]),
    ("forbidden", ["Not for your role", "Nicht für Ihre Rolle", "Ikke for din rolle"]),
    ("role_support", ["support", "Support", "support"]),
    ("role_billing", ["billing", "Buchhaltung", "fakturering"]),
    ("role_marketing", ["marketing", "Marketing", "markedsføring"]),
    ("role_security", ["security", "Sicherheit", "sikkerhed"]),
    ("role_privacy_officer", ["privacy officer", "Datenschutzbeauftragte(r)", "databeskyttelsesrådgiver"]),
    ("role_admin", ["administrator", "Administrator", "administrator"]),
    ("role_collector", ["collector", "Collector", "collector"]),
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_console_text_is_translated_and_every_key_used_exists() {
        for (key, texts) in super::TEXTS {
            for text in texts {
                assert!(!text.trim().is_empty(), "{key} has an empty translation");
            }
        }
        let mut keys: Vec<&str> = super::TEXTS.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len(), "a key is listed twice");
        for role in datavow_policy::Role::ALL {
            assert!(keys.contains(&super::super::role_key(*role)), "{role}");
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pages/admin");
        for entry in std::fs::read_dir(dir).expect("console sources") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
            for used in text.split(".t(\"").skip(1) {
                let key = used.split('"').next().unwrap_or_default();
                assert!(
                    keys.contains(&key),
                    "text key `{key}` is used but not translated"
                );
            }
        }
    }
}
