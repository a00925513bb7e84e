//! The session cookie: its name and attributes, by where the dashboard is
//! served and how the session started.
//!
//! - Over https the name carries the `__Host-` prefix: browsers then take
//!   it only with `Secure`, `Path=/` and no `Domain`, so neither a sibling
//!   subdomain nor a plain-http page can plant or overwrite it.
//! - A link's session is `SameSite=Strict`: no other site's page can make
//!   a request that carries it.
//! - A Mini App session is `SameSite=None; Secure; Partitioned`: in
//!   Telegram Web the Mini App runs in a cross-site frame, where a Strict
//!   (or Lax) cookie is never sent and a third-party cookie may be blocked;
//!   a partitioned cookie is kept for this dashboard inside Telegram's site
//!   only. Every state-changing request still carries its CSRF token, and
//!   `frame-ancestors` limits who may frame the pages.

/// The session cookie's name over plain http.
pub const SESSION_COOKIE: &str = "dipwatch_session";
/// The session cookie's name over https.
pub const HOST_SESSION_COOKIE: &str = "__Host-dipwatch_session";

/// The session cookie's name for a dashboard served over `https` or not.
pub fn name(https: bool) -> &'static str {
    if https {
        HOST_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// Attributes after the value (path, flags, same-site policy).
fn attributes(https: bool, miniapp: bool) -> &'static str {
    match (miniapp, https) {
        (true, _) => "Path=/; HttpOnly; Secure; SameSite=None; Partitioned",
        (false, true) => "Path=/; HttpOnly; Secure; SameSite=Strict",
        (false, false) => "Path=/; HttpOnly; SameSite=Strict",
    }
}

/// `Set-Cookie` for a new session `id` lasting `max_age` seconds.
pub fn set(https: bool, miniapp: bool, id: &str, max_age: u64) -> String {
    format!(
        "{}={id}; {}; Max-Age={max_age}",
        name(https),
        attributes(https, miniapp)
    )
}

/// `Set-Cookie` that ends the session's cookie (the same attributes, or a
/// partitioned cookie would not be the one replaced).
pub fn clear(https: bool, miniapp: bool) -> String {
    format!(
        "{}=; {}; Max-Age=0",
        name(https),
        attributes(https, miniapp)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_gets_the_host_prefix_and_the_mini_app_a_cookie_a_cross_site_frame_keeps() {
        assert_eq!(
            set(true, false, "abc", 60),
            "__Host-dipwatch_session=abc; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=60"
        );
        assert_eq!(
            set(false, false, "abc", 60),
            "dipwatch_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        let mini = set(true, true, "abc", 60);
        assert!(mini.starts_with("__Host-dipwatch_session=abc;"));
        assert!(
            mini.contains("SameSite=None")
                && mini.contains("Secure")
                && mini.contains("Partitioned")
        );
        assert!(!mini.contains("Domain"));
        assert_eq!(
            clear(true, true),
            "__Host-dipwatch_session=; Path=/; HttpOnly; Secure; SameSite=None; Partitioned; Max-Age=0"
        );
    }
}
