//! The text of a delivery. It names the brand and the lifetime, and carries the code as one run
//! of digits (so phones can offer it for autofill), in the first line for SMS previews.

use common::domain::OtpCode;
use common::sender::OutgoingMessage;

pub fn render(
    brand: &str,
    language: &str,
    lifetime_seconds: i64,
    code: &OtpCode,
) -> OutgoingMessage {
    let code = code.expose();
    let (subject, text) = match language {
        "de" => (
            format!("Ihr {brand}-Bestätigungscode"),
            format!(
                "{code} ist Ihr {brand}-Bestätigungscode. Er ist {} gültig. Geben Sie ihn niemandem weiter.",
                lifetime(
                    lifetime_seconds,
                    ("Minute", "Minuten"),
                    ("Sekunde", "Sekunden")
                )
            ),
        ),
        "fr" => (
            format!("Votre code de vérification {brand}"),
            format!(
                "{code} est votre code de vérification {brand}. Il expire dans {}. Ne le partagez avec personne.",
                lifetime(
                    lifetime_seconds,
                    ("minute", "minutes"),
                    ("seconde", "secondes")
                )
            ),
        ),
        "es" => (
            format!("Tu código de verificación de {brand}"),
            format!(
                "{code} es tu código de verificación de {brand}. Caduca en {}. No lo compartas con nadie.",
                lifetime(
                    lifetime_seconds,
                    ("minuto", "minutos"),
                    ("segundo", "segundos")
                )
            ),
        ),
        _ => (
            format!("Your {brand} verification code"),
            format!(
                "{code} is your {brand} verification code. It expires in {}. Never share it with anyone.",
                lifetime(
                    lifetime_seconds,
                    ("minute", "minutes"),
                    ("second", "seconds")
                )
            ),
        ),
    };
    OutgoingMessage { subject, text }
}

fn lifetime(seconds: i64, minutes: (&str, &str), secs: (&str, &str)) -> String {
    let plural =
        |n: i64, (one, many): (&str, &str)| format!("{n} {}", if n == 1 { one } else { many });
    if seconds >= 60 && seconds % 60 == 0 {
        plural(seconds / 60, minutes)
    } else {
        plural(seconds, secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::domain::OtpCodeLength;

    fn code() -> OtpCode {
        OtpCode::parse("048213", OtpCodeLength::default()).unwrap()
    }

    #[test]
    fn names_brand_lifetime_and_code_as_one_run_of_digits() {
        let m = render("Acme", "en", 600, &code());
        assert!(m.text.starts_with("048213 is your Acme verification code"));
        assert!(m.text.contains("10 minutes"));
        assert!(m.subject.contains("Acme") && !m.subject.contains("048213"));
        let digit_runs: Vec<&str> = m
            .text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|run| !run.is_empty())
            .collect();
        assert_eq!(digit_runs, ["048213", "10"]);
    }

    #[test]
    fn odd_lifetimes_and_languages() {
        assert!(render("A", "en", 90, &code()).text.contains("90 seconds"));
        assert!(render("A", "en", 60, &code()).text.contains("1 minute."));
        assert!(render("A", "de", 600, &code()).text.contains("10 Minuten"));
        assert!(
            render("A", "xx", 600, &code())
                .text
                .contains("verification code")
        );
    }
}
