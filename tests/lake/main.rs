//! The data lake, one test binary: the storage contract on local disk and
//! on S3 (moto) (`storage`), the read path's price history (`history`),
//! `dipwatch history` through the real binary (`history_cli`) and the
//! order and audit journal (`journal`).

#[path = "../support/mod.rs"]
mod support;

mod history;
mod history_cli;
mod journal;
mod storage;
