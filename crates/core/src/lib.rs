//! Sangathan's domain: everything that is a rule and not I/O.
//!
//! Each rule lives in exactly one place:
//! - [`ids`]: validated identifiers (mobile, EPIC, person name and its identity key, gender, birth year);
//! - [`geo`]: unit codes, the geography tree and the state preset (booth generation included);
//! - [`identity`]: who an enrolment refers to (EPIC, else mobile + name; households; conflicts);
//! - [`targets`]: largest-remainder splitting of targets and pacing;
//! - [`import`]: spreadsheet columns and row validation for bulk import;
//! - [`search`]: the cross-script name search key;
//! - [`access`]: roles, posts, scopes and the one authorization policy;
//! - [`consent`]: the versioned consent notice, purposes and sensitive fields;
//! - [`meetings`]: rotation, chairs, report chains and escalation;
//! - [`detection`]: the fake-member rules that raise flags, with their thresholds;
//! - [`verification`]: membership states and their counters, which count drives progress, codes;
//! - [`volunteers`]: programmes, duties, check-in codes, activation, follow-ups, bulletins;
//! - [`error`]: field errors with English and Hindi messages.

pub mod access;
pub mod consent;
pub mod detection;
pub mod error;
pub mod geo;
pub mod identity;
pub mod ids;
pub mod import;
pub mod meetings;
pub mod rng;
pub mod search;
pub mod targets;
pub mod verification;
pub mod volunteers;

pub use error::{FieldError, Invalid};
