//! What a password chosen by its owner must be (sign-up, reset, the account page), after
//! NIST SP 800-63B §5.1.1.2: at least 8 characters, at most 1024, and not one that breach
//! corpora show first to every guesser. The check runs offline: the list below is the most
//! common passwords of 8 or more characters in public breach lists (the top of
//! "10-million-password-list" and Have I Been Pwned's most frequent), plus the account's own
//! address. Administrators' resets (`users.rs`) keep only the length rule.

/// The shortest and longest passwords accepted, in characters.
pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 1024;

const COMMON: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "password",
    "password1",
    "password12",
    "password123",
    "password!",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "qwertyuiop",
    "qwerty123",
    "qwerty12",
    "qwertyui",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "zaq12wsx",
    "iloveyou",
    "iloveyou1",
    "11111111",
    "111111111",
    "00000000",
    "88888888",
    "87654321",
    "12341234",
    "11223344",
    "abcd1234",
    "abc12345",
    "abcdefgh",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "welcome123",
    "trustno1",
    "superman",
    "starwars",
    "whatever",
    "computer",
    "michelle",
    "jennifer",
    "corvette",
    "mercedes",
    "internet",
    "asdfghjkl",
    "asdfasdf",
    "letmein1",
    "letmein123",
    "changeme",
    "changeme1",
    "administrator",
    "admin123",
    "admin1234",
    "monkey123",
    "dragon123",
    "master123",
    "shadow123",
    "liverpool",
    "chelsea1",
    "arsenal1",
    "babygirl1",
    "lovely123",
    "samsung1",
    "cookie123",
    "secret123",
    "access14",
    "charlie1",
    "freedom1",
    "flower123",
    "hello123",
    "helloworld",
    "login123",
    "soccer123",
    "pokemon1",
    "minecraft",
    "1234qwer",
    "q1w2e3r4",
    "q1w2e3r4t5",
    "aa123456",
    "a1234567",
    "a12345678",
    "123123123",
    "123321123",
    "147258369",
    "123454321",
    "999999999",
    "987654321",
    "12344321",
    "789456123",
    "159753258",
    "qazwsxedc",
    "google123",
    "summer2024",
    "winter2024",
    "spring2024",
    "autumn2024",
    "summer2025",
    "winter2025",
    "spring2025",
    "autumn2025",
    "summer2026",
    "winter2026",
    "spring2026",
    "autumn2026",
];

/// Why `password` cannot be `email`'s, in words for the form; `Ok` when it can.
pub fn check(password: &str, email: &str) -> Result<(), &'static str> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err("Use at least 8 characters.");
    }
    if chars > MAX_CHARS {
        return Err("Use at most 1024 characters.");
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err("This password is among the most common ones in breach lists. Choose another.");
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    if lower == email || (local.chars().count() >= MIN_CHARS && lower == local) {
        return Err("Do not use your email address as your password.");
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 3 {
        return Err("Use more than two different characters.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_own_address_and_repeated_passwords_are_refused() {
        let email = "ada.lovelace@example.com";
        assert!(check("correct horse battery", email).is_ok());
        assert!(check("Tr0ub4dor&3", email).is_ok());
        assert_eq!(check("short", email), Err("Use at least 8 characters."));
        assert!(check(&"x".repeat(1025), email).is_err());
        assert!(check("Password123", email).unwrap_err().contains("common"));
        assert!(check("QWERTYUIOP", email).is_err());
        assert!(check("Ada.Lovelace@example.com", email)
            .unwrap_err()
            .contains("email"));
        assert!(check("ada.lovelace", email).unwrap_err().contains("email"));
        assert!(check("abababababab", email)
            .unwrap_err()
            .contains("different"));
        assert!(COMMON
            .iter()
            .all(|p| p.chars().count() >= MIN_CHARS && *p == p.to_lowercase()));
    }
}
