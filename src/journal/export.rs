//! What `dipwatch export` and `/download` hand out: a dataset of the lake,
//! or the journal (`orders`), by the name both front ends parse.

use crate::store::Dataset;

/// A dataset of the lake, or the order and audit journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exported {
    /// A date-partitioned dataset (`bars`, `drawdowns`, `positions`, `account`).
    Dataset(Dataset),
    /// The journal (`orders/date=D/`): every order step and audited command.
    Orders,
}

impl Exported {
    /// Every choice: the datasets, then the journal.
    pub const ALL: [Exported; 5] = [
        Self::Dataset(Dataset::ALL[0]),
        Self::Dataset(Dataset::ALL[1]),
        Self::Dataset(Dataset::ALL[2]),
        Self::Dataset(Dataset::ALL[3]),
        Self::Orders,
    ];

    /// Its name, as typed and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dataset(d) => d.name(),
            Self::Orders => super::PREFIX,
        }
    }

    /// The choice named `word` (any case).
    pub fn named(word: &str) -> Option<Self> {
        let lower = word.to_ascii_lowercase();
        Self::ALL.into_iter().find(|e| e.name() == lower)
    }
}

impl clap::ValueEnum for Exported {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        match self {
            Self::Dataset(d) => d.to_possible_value(),
            Self::Orders => Some(
                clap::builder::PossibleValue::new(super::PREFIX)
                    .help("Every order step and audited command, from the journal"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_the_datasets_keep_theirs() {
        for e in Exported::ALL {
            assert_eq!(Exported::named(&e.name().to_uppercase()), Some(e));
        }
        for d in Dataset::ALL {
            assert_eq!(Exported::named(d.name()), Some(Exported::Dataset(d)));
        }
        assert_eq!(Exported::named("orders"), Some(Exported::Orders));
        assert_eq!(Exported::named("quotes"), None);
    }
}
