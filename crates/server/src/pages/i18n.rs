//! The dashboard's languages (P5): English, German and Danish. The language comes from
//! `?lang=` (remembered in a cookie), else the cookie, else `Accept-Language`
//! negotiated with q-values against the supported languages (RFC 4647 lookup:
//! `de-AT` falls back to `de`), else English.

use axum::http::HeaderMap;

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
    Da,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Da];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Da => "da",
        }
    }

    pub fn parse(text: &str) -> Option<Lang> {
        let primary = text.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            "da" => Some(Lang::Da),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::De => 1,
            Lang::Da => 2,
        }
    }

    /// The text of `key` in this language (the key itself if it is not translated).
    pub fn t(self, key: &'static str) -> &'static str {
        TEXTS
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key, |(_, texts)| texts[self.index()])
    }
}

/// The language for a request: `?lang=`, then the `dv_lang` cookie, then
/// `Accept-Language`.
pub fn negotiate(query_lang: Option<&str>, cookie_lang: Option<&str>, headers: &HeaderMap) -> Lang {
    if let Some(lang) = query_lang.and_then(Lang::parse) {
        return lang;
    }
    if let Some(lang) = cookie_lang.and_then(Lang::parse) {
        return lang;
    }
    let header = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    from_accept_language(header)
}

/// RFC 4647 lookup over the header's ranges in q order; `q=0` means "not this one".
pub fn from_accept_language(header: &str) -> Lang {
    accept_language::parse_with_quality(header)
        .into_iter()
        .filter(|(_, q)| *q > 0.0)
        .find_map(|(tag, _)| Lang::parse(&tag))
        .unwrap_or(Lang::En)
}

/// Every text of the dashboard: key, then English, German, Danish.
static TEXTS: &[(&str, [&str; 3])] = &[
    ("title", ["Your data at {controller}", "Ihre Daten bei {controller}", "Dine data hos {controller}"]),
    ("intro", [
        "Here {controller} keeps the promises of its privacy policy: your data is encrypted, used only for the purposes the policy names, and yours to see, correct, download and erase.",
        "Hier hält {controller} die Zusagen seiner Datenschutzerklärung ein: Ihre Daten sind verschlüsselt, werden nur für die dort genannten Zwecke verwendet, und Sie können sie jederzeit einsehen, berichtigen, herunterladen und löschen lassen.",
        "Her holder {controller} løfterne i sin privatlivspolitik: dine data er krypteret, bruges kun til de formål politikken nævner, og du kan altid se, rette, downloade og slette dem.",
    ]),
    ("sign_up", ["Create an account", "Konto anlegen", "Opret en konto"]),
    ("sign_in", ["Sign in", "Anmelden", "Log ind"]),
    ("sign_out", ["Sign out", "Abmelden", "Log ud"]),
    ("contact", ["Contact us", "Kontakt", "Kontakt os"]),
    ("privacy", ["Privacy policy", "Datenschutzerklärung", "Privatlivspolitik"]),
    ("my_data", ["My data", "Meine Daten", "Mine data"]),
    ("name", ["Name", "Name", "Navn"]),
    ("company", ["Company", "Firma", "Virksomhed"]),
    ("email", ["Email address", "E-Mail-Adresse", "E-mailadresse"]),
    ("phone", ["Phone", "Telefon", "Telefon"]),
    ("postal_address", ["Postal address", "Postanschrift", "Postadresse"]),
    ("street", ["Street and number", "Straße und Hausnummer", "Gade og nummer"]),
    ("postal_code", ["Postal code", "Postleitzahl", "Postnummer"]),
    ("city", ["City", "Ort", "By"]),
    ("country", ["Country (ISO code, e.g. DE)", "Land (ISO-Code, z. B. DE)", "Land (ISO-kode, f.eks. DK)"]),
    ("business_sector", ["Business sector", "Branche", "Branche"]),
    ("interest", ["What you are interested in", "Woran Sie interessiert sind", "Hvad du er interesseret i"]),
    ("birth_date", ["Birth date (optional)", "Geburtsdatum (optional)", "Fødselsdato (valgfri)"]),
    ("marketing_opt_in", ["Send me news and offers (you can opt out at any time)", "Ich möchte Neuigkeiten und Angebote erhalten (jederzeit abbestellbar)", "Send mig nyheder og tilbud (kan altid afmeldes)"]),
    ("user_id", ["UserID", "Benutzerkennung", "Bruger-id"]),
    ("password", ["Password", "Passwort", "Adgangskode"]),
    ("submit_sign_up", ["Create account", "Konto anlegen", "Opret konto"]),
    ("credentials_once", [
        "Your account is ready. Write down your userID and password now: the password is shown this once and never again.",
        "Ihr Konto ist angelegt. Notieren Sie jetzt Benutzerkennung und Passwort: Das Passwort wird nur dieses eine Mal angezeigt.",
        "Din konto er oprettet. Skriv dit bruger-id og din adgangskode ned nu: adgangskoden vises kun denne ene gang.",
    ]),
    ("controller", ["Controller of your data", "Verantwortlicher für Ihre Daten", "Dataansvarlig"]),
    ("policy_version", ["Privacy policy version you accepted", "Von Ihnen akzeptierte Version der Datenschutzerklärung", "Version af privatlivspolitikken, du har accepteret"]),
    ("policy_changed", ["Our privacy policy changed since you accepted it: version {version} is in force since {date}. If you go on using our services, it applies to you.", "Unsere Datenschutzerklärung hat sich seit Ihrer Zustimmung geändert: Version {version} gilt seit {date}. Wenn Sie unsere Dienste weiter nutzen, gilt sie für Sie.", "Vores privatlivspolitik er ændret, siden du accepterede den: version {version} gælder siden {date}. Bruger du fortsat vores tjenester, gælder den for dig."]),
    ("read_policy", ["Read it", "Lesen", "Læs den"]),
    ("see_changes", ["See what changed", "Änderungen ansehen", "Se hvad der er ændret"]),
    ("dismiss", ["Got it, hide this", "Verstanden, ausblenden", "Forstået, skjul"]),
    ("privacy_contact", ["Privacy contact", "Datenschutzkontakt", "Kontakt om databeskyttelse"]),
    ("policy_version_label", ["Version", "Version", "Version"]),
    ("in_force_since", ["in force since", "gültig seit", "gælder siden"]),
    ("in_force_from", ["in force from", "gültig ab", "gælder fra"]),
    ("replaced_on", ["replaced on", "ersetzt am", "erstattet den"]),
    ("versions", ["All versions", "Alle Fassungen", "Alle versioner"]),
    ("status_in_force", ["in force", "gültig", "gælder"]),
    ("status_past", ["earlier", "frühere", "tidligere"]),
    ("status_upcoming", ["upcoming", "kommende", "kommende"]),
    ("material", ["material change", "wesentliche Änderung", "væsentlig ændring"]),
    ("compare", ["Compare two versions", "Zwei Fassungen vergleichen", "Sammenlign to versioner"]),
    ("compare_from", ["Older", "Ältere", "Ældre"]),
    ("compare_to", ["Newer", "Neuere", "Nyere"]),
    ("compare_submit", ["Show the changes", "Änderungen zeigen", "Vis ændringerne"]),
    ("changes_title", ["Changes from {from} to {to}", "Änderungen von {from} zu {to}", "Ændringer fra {from} til {to}"]),
    ("no_changes", ["The two versions have the same text.", "Die beiden Fassungen haben denselben Text.", "De to versioner har samme tekst."]),
    ("only_in", ["This text is not available in your language; it is shown in", "Dieser Text liegt nicht in Ihrer Sprache vor; er wird angezeigt auf", "Teksten findes ikke på dit sprog; den vises på"]),
    ("no_policy_text", ["No policy text is published yet. What the policy file says:", "Es ist noch kein Text veröffentlicht. Was die Richtliniendatei festlegt:", "Der er endnu ikke offentliggjort nogen tekst. Hvad politikfilen siger:"]),
    ("unknown_version", ["There is no such version of the privacy policy.", "Diese Fassung der Datenschutzerklärung gibt es nicht.", "Den version af privatlivspolitikken findes ikke."]),
    ("legal_basis", ["Legal basis", "Rechtsgrundlage", "Retsgrundlag"]),
    ("retention", ["Kept for", "Aufbewahrt", "Opbevares"]),
    ("edit", ["Correct my data", "Meine Daten berichtigen", "Ret mine data"]),
    ("save", ["Save", "Speichern", "Gem"]),
    ("saved", ["Your changes are saved.", "Ihre Änderungen sind gespeichert.", "Dine ændringer er gemt."]),
    ("download", ["Download all my data (JSON)", "Alle meine Daten herunterladen (JSON)", "Download alle mine data (JSON)"]),
    ("marketing", ["Marketing", "Werbung", "Markedsføring"]),
    ("marketing_on", ["You receive news and offers.", "Sie erhalten Neuigkeiten und Angebote.", "Du modtager nyheder og tilbud."]),
    ("marketing_off", ["You receive no marketing.", "Sie erhalten keine Werbung.", "Du modtager ingen markedsføring."]),
    ("marketing_turn_on", ["Send me news and offers", "Neuigkeiten und Angebote erhalten", "Send mig nyheder og tilbud"]),
    ("marketing_turn_off", ["Stop all marketing", "Keine Werbung mehr", "Stop al markedsføring"]),
    ("erasure", ["Delete my account", "Mein Konto löschen", "Slet min konto"]),
    ("erasure_explain", [
        "We erase your account and data, except what the law requires us to keep (billing and tax records), which is then used for nothing else.",
        "Wir löschen Ihr Konto und Ihre Daten, außer dem, was wir gesetzlich aufbewahren müssen (Rechnungs- und Steuerunterlagen); diese werden dann für nichts anderes verwendet.",
        "Vi sletter din konto og dine data, undtagen det loven kræver, at vi gemmer (regnskabs- og skatteoplysninger), som så ikke bruges til andet.",
    ]),
    ("erasure_confirm", ["Yes, delete my account", "Ja, mein Konto löschen", "Ja, slet min konto"]),
    ("unsubscribe", ["Unsubscribe", "Abmelden", "Afmeld"]),
    ("unsubscribe_explain", [
        "Stop all marketing from us to this address. It takes effect at once.",
        "Keine Werbung mehr von uns an diese Adresse. Das gilt sofort.",
        "Stop al markedsføring fra os til denne adresse. Det gælder med det samme.",
    ]),
    ("unsubscribed", [
        "You are unsubscribed: we send you no more marketing.",
        "Sie sind abgemeldet: Wir senden Ihnen keine Werbung mehr.",
        "Du er afmeldt: vi sender dig ikke mere markedsføring.",
    ]),
    ("link_invalid", [
        "This link is not valid: it was altered, already used, or has expired.",
        "Dieser Link ist ungültig: Er wurde verändert, schon benutzt oder ist abgelaufen.",
        "Dette link er ugyldigt: det er ændret, allerede brugt eller udløbet.",
    ]),
    ("recover", ["Lost your password?", "Passwort verloren?", "Mistet din adgangskode?"]),
    ("recover_explain", [
        "Give the email address of your account. We send a link there that gives you a new password.",
        "Geben Sie die E-Mail-Adresse Ihres Kontos an. Wir senden dorthin einen Link, der Ihnen ein neues Passwort gibt.",
        "Angiv e-mailadressen på din konto. Vi sender et link dertil, som giver dig en ny adgangskode.",
    ]),
    ("recover_send", ["Send the link", "Link senden", "Send linket"]),
    ("recover_sent", [
        "If this address belongs to an account, a link is on its way. It works once, for 30 minutes.",
        "Wenn diese Adresse zu einem Konto gehört, ist ein Link unterwegs. Er gilt einmal und 30 Minuten lang.",
        "Hvis adressen hører til en konto, er et link på vej. Det virker én gang og i 30 minutter.",
    ]),
    ("recover_link_explain", [
        "Get a new generated password. Every other session of your account ends.",
        "Erhalten Sie ein neues, erzeugtes Passwort. Alle anderen Sitzungen Ihres Kontos enden.",
        "Få en ny genereret adgangskode. Alle andre sessioner på din konto slutter.",
    ]),
    ("recover_new_password", ["Give me a new password", "Neues Passwort erzeugen", "Giv mig en ny adgangskode"]),
    ("recover_done", [
        "Your new password is shown this once. Write it down or keep it in a password manager.",
        "Ihr neues Passwort wird nur dieses eine Mal angezeigt. Notieren Sie es oder legen Sie es im Passwortmanager ab.",
        "Din nye adgangskode vises kun denne ene gang. Skriv den ned eller gem den i en adgangskodeadministrator.",
    ]),
    ("erased_title", ["Your account is deleted", "Ihr Konto ist gelöscht", "Din konto er slettet"]),
    ("erased_intro", [
        "We erased your account and this data, in our database and in every backup:",
        "Wir haben Ihr Konto und diese Daten gelöscht, in unserer Datenbank und in jeder Sicherung:",
        "Vi har slettet din konto og disse data, i vores database og i alle sikkerhedskopier:",
    ]),
    ("erased_kept", [
        "The law requires us to keep the following; it is used for nothing else and destroyed when the period ends:",
        "Folgendes müssen wir gesetzlich aufbewahren; es wird für nichts anderes verwendet und nach Ablauf der Frist vernichtet:",
        "Følgende skal vi gemme efter loven; det bruges ikke til andet og destrueres, når perioden udløber:",
    ]),
    ("erased_nothing_kept", ["We keep nothing else about you.", "Wir bewahren nichts weiter über Sie auf.", "Vi gemmer intet andet om dig."]),
    ("erased_until", ["until", "bis", "indtil"]),
    ("erased_request", ["Request number", "Antragsnummer", "Anmodningsnummer"]),
    ("change_password", ["Change password", "Passwort ändern", "Skift adgangskode"]),
    ("current_password", ["Current password", "Aktuelles Passwort", "Nuværende adgangskode"]),
    ("new_password", ["New password (at least 12 characters)", "Neues Passwort (mindestens 12 Zeichen)", "Ny adgangskode (mindst 12 tegn)"]),
    ("access_log", ["Who accessed your data", "Wer auf Ihre Daten zugegriffen hat", "Hvem har tilgået dine data"]),
    ("when", ["When", "Wann", "Hvornår"]),
    ("who", ["Who", "Wer", "Hvem"]),
    ("what", ["What", "Was", "Hvad"]),
    ("purpose", ["Purpose", "Zweck", "Formål"]),
    ("message", ["Message", "Nachricht", "Besked"]),
    ("send", ["Send", "Senden", "Send"]),
    ("contact_thanks", ["Thank you. We will answer your message.", "Vielen Dank. Wir beantworten Ihre Nachricht.", "Tak. Vi besvarer din besked."]),
    ("language", ["Language", "Sprache", "Sprog"]),
    ("you", ["you", "Sie", "dig"]),
    ("visitor", ["sign-up or sign-in page", "Registrierungs- oder Anmeldeseite", "opret- eller log-ind-siden"]),
    ("act_create", ["created", "angelegt", "oprettet"]),
    ("act_read", ["read", "gelesen", "læst"]),
    ("act_update", ["changed", "geändert", "ændret"]),
    ("act_search", ["looked up by", "gesucht nach", "slået op efter"]),
    ("act_export", ["downloaded everything", "alles heruntergeladen", "alt downloadet"]),
    ("act_sign_in", ["signed in", "angemeldet", "logget ind"]),
    ("act_verify", ["password checked", "Passwort geprüft", "adgangskode kontrolleret"]),
    ("act_access_log_read", ["access log viewed", "Zugriffsprotokoll angesehen", "adgangslog vist"]),
    ("act_request_filed", ["request filed", "Antrag eingereicht", "anmodning indgivet"]),
    ("act_failed", ["did not complete", "nicht abgeschlossen", "ikke gennemført"]),
    ("act_shred", ["erased", "gelöscht", "slettet"]),
    ("act_refused", ["refused", "abgelehnt", "afvist"]),
    ("error_heading", ["Please check your input", "Bitte prüfen Sie Ihre Eingaben", "Kontroller venligst dine oplysninger"]),
    ("err_required", ["is required", "ist erforderlich", "skal udfyldes"]),
    ("err_too_long", ["is too long", "ist zu lang", "er for lang"]),
    ("err_invalid_email", ["is not a valid email address", "ist keine gültige E-Mail-Adresse", "er ikke en gyldig e-mailadresse"]),
    ("err_invalid_phone", ["is not a valid phone number (write it with the country code, e.g. +49 30 901820)", "ist keine gültige Telefonnummer (bitte mit Landesvorwahl, z. B. +49 30 901820)", "er ikke et gyldigt telefonnummer (skriv det med landekode, f.eks. +45 31 23 45 67)"]),
    ("err_invalid_country", ["is not an ISO country code such as DE or DK", "ist kein ISO-Ländercode wie DE oder DK", "er ikke en ISO-landekode som DE eller DK"]),
    ("err_invalid_postal_code", ["is not a postal code of that country", "ist keine Postleitzahl dieses Landes", "er ikke et postnummer i det land"]),
    ("err_unknown_business_sector", ["is not one of the listed sectors", "ist keine der aufgeführten Branchen", "er ikke en af de nævnte brancher"]),
    ("err_invalid_birth_date", ["must be a past date", "muss ein Datum in der Vergangenheit sein", "skal være en dato i fortiden"]),
    ("err_line_breaks", ["must be a single line", "muss einzeilig sein", "skal være én linje"]),
    ("err_control_characters", ["contains characters that are not allowed", "enthält unzulässige Zeichen", "indeholder ugyldige tegn"]),
    ("err_too_short", ["is too short", "ist zu kurz", "er for kort"]),
    ("err_common_password", ["is too common; choose another", "ist zu verbreitet; bitte ein anderes wählen", "er for almindelig; vælg en anden"]),
    ("err_card_number_refused", [
        "We never store payment card numbers. Please remove the card number; nothing was saved.",
        "Wir speichern niemals Kartennummern. Bitte entfernen Sie die Kartennummer; es wurde nichts gespeichert.",
        "Vi gemmer aldrig betalingskortnumre. Fjern venligst kortnummeret; intet blev gemt.",
    ]),
    ("err_under_age_of_consent", [
        "Our services are not directed to children. Without parental consent we cannot create an account; nothing was saved.",
        "Unsere Dienste richten sich nicht an Kinder. Ohne Zustimmung der Eltern können wir kein Konto anlegen; es wurde nichts gespeichert.",
        "Vores tjenester er ikke rettet mod børn. Uden forældres samtykke kan vi ikke oprette en konto; intet blev gemt.",
    ]),
    ("err_email_taken", ["Another account already uses this email address.", "Diese E-Mail-Adresse wird bereits von einem anderen Konto verwendet.", "En anden konto bruger allerede denne e-mailadresse."]),
    ("err_invalid_credentials", ["The userID or password is wrong.", "Benutzerkennung oder Passwort ist falsch.", "Bruger-id eller adgangskode er forkert."]),
    ("err_too_many_attempts", ["Too many failed attempts. Please try again later.", "Zu viele Fehlversuche. Bitte versuchen Sie es später erneut.", "For mange mislykkede forsøg. Prøv igen senere."]),
    ("err_csrf", ["The form expired. Please try again.", "Das Formular ist abgelaufen. Bitte versuchen Sie es erneut.", "Formularen er udløbet. Prøv igen."]),
    ("err_generic", ["Something went wrong. Please try again.", "Etwas ist schiefgegangen. Bitte versuchen Sie es erneut.", "Noget gik galt. Prøv igen."]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_supported_language_by_q_value() {
        assert_eq!(from_accept_language("de-DE,de;q=0.9,en;q=0.8"), Lang::De);
        assert_eq!(from_accept_language("fr-FR, da;q=0.7, en;q=0.5"), Lang::Da);
        assert_eq!(from_accept_language("en;q=0.1, de-AT;q=0.9"), Lang::De);
        assert_eq!(from_accept_language("de;q=0, da"), Lang::Da);
        assert_eq!(from_accept_language("*"), Lang::En);
        assert_eq!(from_accept_language(""), Lang::En);
        assert_eq!(from_accept_language(";;;,,=q"), Lang::En);
        assert_eq!(from_accept_language("zh-CN, ja"), Lang::En);
    }

    #[test]
    fn every_text_has_three_non_empty_translations() {
        for (key, texts) in TEXTS {
            for (lang, text) in Lang::ALL.iter().zip(texts) {
                assert!(!text.trim().is_empty(), "{key} in {}", lang.code());
            }
        }
    }
}
