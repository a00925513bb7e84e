//! The key values scrubbed from anything a server echoes back: error
//! messages and bodies leave the client with every occurrence masked.

use secrecy::{ExposeSecret, SecretString};

use super::error::AlpacaError;

/// Replaces the key values wherever they appear in a text.
pub(super) struct Scrubber {
    secrets: Vec<SecretString>,
}

impl Scrubber {
    const MASK: &'static str = "[redacted]";

    pub(super) fn new(secrets: &[&SecretString]) -> Self {
        Self {
            secrets: secrets
                .iter()
                .filter(|s| !s.expose_secret().is_empty())
                .map(|s| (*s).clone())
                .collect(),
        }
    }

    fn text(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_string(), |t, s| {
            t.replace(s.expose_secret(), Self::MASK)
        })
    }

    pub(super) fn bytes<'a>(&self, body: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        let found = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
        if !self
            .secrets
            .iter()
            .any(|s| found(s.expose_secret().as_bytes()))
        {
            return std::borrow::Cow::Borrowed(body);
        }
        let mut out = body.to_vec();
        for s in &self.secrets {
            let needle = s.expose_secret().as_bytes();
            let mut i = 0;
            while let Some(at) = out[i..]
                .windows(needle.len())
                .position(|w| w == needle)
                .map(|p| p + i)
            {
                out.splice(at..at + needle.len(), Self::MASK.bytes());
                i = at + Self::MASK.len();
            }
        }
        std::borrow::Cow::Owned(out)
    }

    pub(super) fn error(&self, e: AlpacaError) -> AlpacaError {
        match e {
            AlpacaError::Status { status, message } => AlpacaError::Status {
                status,
                message: self.text(&message),
            },
            AlpacaError::Connect(m) => AlpacaError::Connect(self.text(&m)),
            AlpacaError::Malformed(m) => AlpacaError::Malformed(self.text(&m)),
            AlpacaError::Schema(m) => AlpacaError::Schema(self.text(&m)),
            other @ (AlpacaError::Timeout(_) | AlpacaError::CircuitOpen { .. }) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scrubber_masks_every_occurrence_of_each_key() {
        let (id, secret) = (SecretString::from("PKID123"), SecretString::from("s3cr3t"));
        let s = Scrubber::new(&[&id, &secret]);
        let body = b"APCA-API-KEY-ID: PKID123, APCA-API-SECRET-KEY: s3cr3t s3cr3t";
        let out = s.bytes(body);
        assert_eq!(
            &*out,
            b"APCA-API-KEY-ID: [redacted], APCA-API-SECRET-KEY: [redacted] [redacted]"
        );
        assert!(matches!(s.bytes(b"clean"), std::borrow::Cow::Borrowed(_)));
        let e = s.error(AlpacaError::Connect("to PKID123".into()));
        assert_eq!(e, AlpacaError::Connect("to [redacted]".into()));
    }
}
