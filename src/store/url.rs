use std::fmt;
use std::path::PathBuf;

/// Where the data lake lives, parsed from `storage.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// A directory on local disk (relative paths are from the working directory).
    Local(PathBuf),
    /// An S3 (or S3-compatible) bucket and key prefix (no leading or trailing `/`).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix inside the bucket, possibly empty.
        prefix: String,
    },
}

impl StorageUrl {
    /// Parse `./data`, `data`, `/abs`, `file://./rel`, `file:///abs` or
    /// `s3://bucket[/prefix]`. Any other scheme is refused.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("empty; use a directory like \"./data\" or \"s3://bucket/prefix\"".into());
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                && bucket.starts_with(|c: char| c.is_ascii_alphanumeric());
            if !bucket_ok {
                return Err(format!(
                    "{s:?}: bucket {bucket:?} is not a valid S3 bucket name (3-63 of a-z, 0-9, '-', '.')"
                ));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|p| p == ".." || p == ".") || prefix.contains("//") {
                return Err(format!(
                    "{s:?}: the prefix must not contain '.', '..' or empty segments"
                ));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        let path = match s.strip_prefix("file://") {
            Some("") => return Err(format!("{s:?}: no path after file://")),
            Some(p) => p,
            None => {
                // Anything that starts like a URL scheme ("s3:/bucket" with
                // one slash, "S3://", "ftp://") is a mistake, not a local
                // directory named "s3:": refuse it instead of silently
                // writing to ./s3:/bucket.
                if let Some(scheme) = url_scheme(s) {
                    return Err(format!(
                        "{s:?}: unsupported or malformed scheme {scheme:?}; use a directory \
                         (./name for one whose name has a ':'), file://PATH or s3://bucket/prefix"
                    ));
                }
                s
            }
        };
        Ok(Self::Local(PathBuf::from(path)))
    }
}

/// The scheme of text that starts like a URL (`letters:` before any `/`),
/// as RFC 3986 spells one.
fn url_scheme(s: &str) -> Option<&str> {
    let (head, _) = s.split_once(':')?;
    let mut chars = head.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    (starts && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))).then_some(head)
}

impl fmt::Display for StorageUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(p) => write!(f, "file://{}", p.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_forms() {
        for (raw, path) in [
            ("./data", "./data"),
            ("data", "data"),
            ("file://./data", "./data"),
            ("file:///var/lib/dipwatch", "/var/lib/dipwatch"),
        ] {
            assert_eq!(
                StorageUrl::parse(raw),
                Ok(StorageUrl::Local(PathBuf::from(path))),
                "{raw}"
            );
        }
    }

    #[test]
    fn s3_forms() {
        assert_eq!(
            StorageUrl::parse("s3://my-bucket/dip/watch/").unwrap(),
            StorageUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: "dip/watch".into()
            }
        );
        assert_eq!(
            StorageUrl::parse("s3://my-bucket").unwrap().to_string(),
            "s3://my-bucket"
        );
    }

    #[test]
    fn malformed_urls_are_refused_with_a_reason() {
        assert!(StorageUrl::parse("").is_err());
        assert!(
            StorageUrl::parse("gs://bucket")
                .unwrap_err()
                .contains("unsupported or malformed scheme")
        );
        assert!(StorageUrl::parse("s3://").unwrap_err().contains("bucket"));
        assert!(
            StorageUrl::parse("s3://Bad_Bucket/x")
                .unwrap_err()
                .contains("bucket")
        );
        assert!(
            StorageUrl::parse("s3://bucket/../x")
                .unwrap_err()
                .contains("prefix")
        );
        assert!(StorageUrl::parse("file://").is_err());
    }

    #[test]
    fn scheme_look_alikes_are_refused_not_taken_as_directories() {
        for raw in [
            "s3:/bucket",
            "s3:bucket",
            "S3://bucket",
            "file:/data",
            "http://x",
        ] {
            let err = StorageUrl::parse(raw).unwrap_err();
            assert!(
                err.contains("unsupported or malformed scheme"),
                "{raw}: {err}"
            );
        }
        // A directory whose name has a ':' is still possible, written as a path.
        assert_eq!(
            StorageUrl::parse("./s3:bucket"),
            Ok(StorageUrl::Local(PathBuf::from("./s3:bucket")))
        );
    }
}
